"""What a spotting task is: its classes, its evaluation frame rate and its label file name.

One small dataclass, :class:`Specifications` (after pyannote-audio's task specifications), travels
with checkpoints, scores and evaluations, so nothing else needs to know how many classes there are
or at which rate SoccerNet's evaluator quantises positions. Three sets are built in — no registry:

* SoccerNet-v2 action spotting: the 17 classes of ``EVENT_DICTIONARY_V2``, evaluated at 2 fps,
  ``Labels-v2.json``, Average-mAP "loose";
* SoccerNet Ball Action Spotting 2023: ``PASS``, ``DRIVE`` (``EVENT_DICTIONARY_BALL``), 25 fps,
  ``Labels-ball.json``, mAP@1 s (metric ``at1``), as the challenge evaluates it;
* Ball Action Spotting 2024: 12 classes (``PASS`` ... ``GOAL``, written as the data writes them),
  25 fps, ``Labels-ball.json``, ``at1``.

Any other class list comes from a text file (one class a line, see :func:`read_classes_file`). A
folder's set is recognised from the label names it holds (:func:`recognise`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_BALL, EVENT_DICTIONARY_V2

from spotting.errors import InputError

__all__ = ["Specifications", "SOCCERNET_V2", "BALL_2023", "BALL_2024", "BUILT_IN", "KNOWN_CLASS_NAMES", "by_name", "read_classes_file",
           "resolve", "recognise", "from_checkpoint"]


def _ordered(dictionary: dict[str, int]) -> tuple[str, ...]:
    return tuple(sorted(dictionary, key=dictionary.__getitem__))


@dataclass(frozen=True)
class Specifications:
    """A spotting task: the class list (its order = class indices), the evaluation grid's frame rate
    (SoccerNet's ``evaluate(framerate=)``: positions are quantised to ``int(framerate * s)``), the
    per-game label file name, the SoccerNet package's ``dataset`` name for its split lists, and the
    metric its challenge reports by default.

    A model's *feature* rate is its own (``ModelConfig.framerate``, e.g. 1 fps Baidu features for a
    SoccerNet-v2 model evaluated at 2 fps).
    """

    classes: tuple[str, ...]
    framerate: float = 2.0
    labels_file: str = "Labels-v2.json"
    name: str = "custom"
    dataset: str = "SoccerNet"  # SoccerNet.utils.getListGames(dataset=...) for split names
    metric: str = "loose"  # the default Average-mAP variant of this task

    def __post_init__(self) -> None:
        classes = tuple(str(c) for c in self.classes)
        object.__setattr__(self, "classes", classes)
        object.__setattr__(self, "framerate", float(self.framerate))
        if not classes:
            raise ValueError("a class set needs at least one class")
        if len(set(classes)) != len(classes):
            raise ValueError(f"class names repeat in {classes}")
        if not (self.framerate > 0 and self.framerate < 10_000):
            raise ValueError(f"frame rate {self.framerate} is not a positive number of frames per second")

    @property
    def num_classes(self) -> int:
        """C, the number of classes (the width of SoccerNet's dense vectors)."""
        return len(self.classes)

    @cached_property
    def class_index(self) -> dict[str, int]:
        """``{name: index}``: SoccerNet's ``EVENT_DICTIONARY`` for this set."""
        return {name: i for i, name in enumerate(self.classes)}

    def event_dictionary(self) -> dict[str, int]:
        """A fresh ``EVENT_DICTIONARY`` to pass to ``SoccerNet.Evaluation.ActionSpotting.evaluate``."""
        return dict(self.class_index)

    def describe(self) -> str:
        """``"SoccerNet-v2 (17 classes, 2 fps, Labels-v2.json)"``."""
        title = {"soccernet-v2": "SoccerNet-v2", "ball-2023": "Ball Action Spotting 2023",
                 "ball-2024": "Ball Action Spotting 2024"}.get(self.name, self.name)
        return f"{title} ({self.num_classes} classes, {self.framerate:g} fps, {self.labels_file})"

    def replace(self, **changes: object) -> Specifications:
        """A copy with some fields changed (``None`` values are ignored); a changed class list makes it custom."""
        changes = {k: v for k, v in changes.items() if v is not None}
        if "classes" in changes and tuple(changes["classes"]) != self.classes and "name" not in changes:
            changes["name"] = "custom"
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain values (JSON, ``torch.save(weights_only=True)``)."""
        return {"name": self.name, "classes": list(self.classes), "framerate": self.framerate,
                "labels_file": self.labels_file, "dataset": self.dataset, "metric": self.metric}

    @staticmethod
    def from_dict(data: dict) -> Specifications:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` on a malformed dict."""
        if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
            raise ValueError("specifications need a 'classes' list")
        known = {f.name for f in dataclasses.fields(Specifications)}
        return Specifications(**{k: (tuple(v) if k == "classes" else v) for k, v in data.items() if k in known})


SOCCERNET_V2 = Specifications(_ordered(EVENT_DICTIONARY_V2), 2.0, "Labels-v2.json", "soccernet-v2")
BALL_2023 = Specifications(_ordered(EVENT_DICTIONARY_BALL), 25.0, "Labels-ball.json", "ball-2023", "Ball", "at1")
BALL_2024 = Specifications(("PASS", "DRIVE", "HEADER", "HIGH PASS", "OUT", "CROSS", "THROW IN", "SHOT",
                            "BALL PLAYER BLOCK", "PLAYER SUCCESSFUL TACKLE", "FREE KICK", "GOAL"),
                           25.0, "Labels-ball.json", "ball-2024", "Ball", "at1")
BUILT_IN: tuple[Specifications, ...] = (SOCCERNET_V2, BALL_2023, BALL_2024)
KNOWN_CLASS_NAMES: tuple[str, ...] = tuple(dict.fromkeys(name for spec in BUILT_IN for name in spec.classes))
_ALIASES = {"v2": "soccernet-v2", "soccernet": "soccernet-v2", "ball": "ball-2023", "ball-2023": "ball-2023",
            "ball2023": "ball-2023", "ball2024": "ball-2024"}


def by_name(name: str) -> Specifications | None:
    """A built-in set by name (``soccernet-v2``/``v2``, ``ball``/``ball-2023``, ``ball-2024``), else None."""
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    return next((s for s in BUILT_IN if s.name == key), None)


def read_classes_file(path: str | Path) -> tuple[str, ...]:
    """Class names from a text file, one a line, in index order; blank lines and ``#`` comments skipped.

    Raises :class:`InputError` naming the file when it is missing, empty, not text or repeats a name.
    """
    path = Path(path)
    try:
        text = path.read_bytes()[: 1 << 20].decode("utf-8")
    except FileNotFoundError:
        raise InputError(path, "class list not found", "pass a built-in set (soccernet-v2, ball-2023, ball-2024) "
                         "or a text file with one class a line") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"class list cannot be read ({type(error).__name__})",
                         "expected a UTF-8 text file with one class a line") from None
    names = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not names:
        raise InputError(path, "the class list is empty", "write one class name a line")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(path, f"class names repeat: {', '.join(repeated[:5])}", "list each class once")
    return tuple(names)


def resolve(classes: str | None = None, labels_file: str | None = None, framerate: float | None = None,
            default: Specifications = SOCCERNET_V2) -> Specifications:
    """The set a command works with: ``classes`` is a built-in name, a class-list file, or None
    (``default``, e.g. the set recognised in the data); ``labels_file`` / ``framerate`` override its own.

    A class-list file keeps the default's label file and rate unless given. Raises :class:`InputError`.
    """
    spec = default
    if classes:
        built_in = by_name(classes)
        if built_in is not None:
            spec = built_in
        elif Path(classes).is_file() or "/" in classes or classes.endswith(".txt"):
            spec = default.replace(classes=read_classes_file(classes), name=Path(classes).stem, metric="loose")
        else:
            raise InputError(None, f"unknown class set {classes!r}",
                             "use soccernet-v2, ball-2023, ball-2024 or a text file with one class a line")
    if framerate is not None and not (0 < framerate < 10_000):
        raise InputError(None, f"frame rate {framerate}", "pass a positive number of frames per second")
    return spec.replace(labels_file=labels_file, framerate=framerate)


def recognise(names: Iterable[str] | dict[str, int], labels_file: str | None = None) -> Specifications | None:
    """The built-in set the label names seen belong to, with ``labels_file`` as found: the one holding
    the most of them (counted with their multiplicity when ``names`` maps names to counts), the
    smallest on a tie (PASS/DRIVE alone is 2023's set). None when no built-in set holds any of them.
    A name outside the chosen set is left for the label reader to report, naming its file."""
    counts = dict(names) if isinstance(names, dict) else {n: 1 for n in names}
    best, covered = None, 0
    for spec in sorted(BUILT_IN, key=lambda s: s.num_classes):
        total = sum(c for n, c in counts.items() if n in spec.class_index)
        if total > covered:
            best, covered = spec, total
    return None if best is None else best.replace(labels_file=labels_file)


def from_checkpoint(saved: object, num_classes: int) -> Specifications:
    """A checkpoint's saved specifications; a checkpoint from before they were saved is SoccerNet-v2
    (when it has 17 classes: the only set trained then). Raises ``ValueError`` otherwise."""
    if isinstance(saved, dict):
        spec = Specifications.from_dict(saved)
        if spec.num_classes != num_classes:
            raise ValueError(f"{spec.num_classes} classes saved but the model has {num_classes} outputs")
        return spec
    if num_classes == SOCCERNET_V2.num_classes:
        return SOCCERNET_V2
    raise ValueError(f"no class list saved and {num_classes} classes is not SoccerNet-v2's 17")
