"""``results_spotting.json``: the official prediction format, read (string or numeric values) and written."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spotting.errors import InputError
from spotting.metrics_core import entry_key
from spotting.soccernet import Annotations, class_set, format_game_time, read_json, unknown_label_fix
from spotting.specs import Specifications

Classes = Specifications | Sequence[str] | None  # a class set; None: SoccerNet-v2's 17

RESULTS_FILE = "results_spotting.json"


# SoccerNet's evaluator indexes a 120-minute vector per half with int(framerate * position_s): a
# position more than 120 minutes before the half's start is an IndexError there, so it is refused
# here too; a huge positive one is clipped to the vector's last frame, so it is stored capped (the
# figures are the same and int64 arithmetic cannot overflow).
EARLIEST_POSITION_MS = -120 * 60 * 1000
LATEST_POSITION_MS = 10**12
_GAME_TIME = re.compile(r"\s*(\d+)\s*-\s*(-?\d+):(\d+)\s*")


@dataclass(frozen=True)
class ResultsFile:
    """One results file as read: its predictions and what in it is unusual but accepted.

    ``notes`` are short phrases ("3 predictions before the half's start (drawn at 0:00)"), each
    saying what SoccerNet's ``evaluate()`` does with such predictions, which is what our figures do.
    """

    path: Path
    events: Annotations
    notes: tuple[str, ...] = ()

    @property
    def only_game_times(self) -> bool:
        """All notes are about ``gameTime`` (never read by the evaluator): worth a line, not an alarm."""
        return bool(self.notes) and all(about_game_time(note) for note in self.notes)

    @property
    def warning(self) -> str | None:
        """One line naming the file and everything unusual in it; ``None`` when nothing is."""
        return f"{self.path}: " + "; ".join(self.notes) if self.notes else None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


_NOTE = re.compile(r"(\d+) (\w+?)s? (.*?)(?: \(.*)?$")  # what _notes writes: "<count> <word>[s] <what> (why)"


def about_game_time(note: str) -> bool:
    """A note about ``gameTime`` strings: the one field evaluate() never reads (the app says it quietly)."""
    return "gameTime" in note


def note_kinds(notes: Iterable[Sequence[str]]) -> list[tuple[str, bool]]:
    """The notes of many files (one sequence per file) added up by kind, most files first:
    ``("66 predictions before the half's start, in 45 of 100 files", about_game_time)``.

    A model's hundred per-file lines say less than the few kinds they hold; ``about_game_time`` marks
    the kinds evaluate() never reads (the app shows those quietly)."""
    notes = [tuple(file_notes) for file_notes in notes]
    totals: dict[tuple[str, str], list[int]] = {}
    for file_notes in notes:
        for note in file_notes:
            match = _NOTE.match(note)
            word, what = (match.group(2), match.group(3)) if match else ("", note)
            entry = totals.setdefault((word, what), [0, 0])
            entry[0] += int(match.group(1)) if match else 0
            entry[1] += 1
    lines = []
    for (word, what), (count, files) in sorted(totals.items(), key=lambda item: -item[1][1]):
        where = f"in all {files} files" if files == len(notes) > 1 else f"in {files} of {len(notes)} files"
        head = f"{_plural(count, word)} {what}" if word else what
        lines.append((f"{head}, {where}" if len(notes) > 1 else head, about_game_time(f"{word} {what}")))
    return lines


def _game_time_disagrees(game_time: object, half: int, ms: int) -> bool:
    match = _GAME_TIME.fullmatch(str(game_time))
    if match is None:
        return True
    minutes, seconds = int(match.group(2)), int(match.group(3))
    # Writers round or truncate the seconds: a second either way is the same moment.
    return int(match.group(1)) != half or seconds >= 60 or abs(minutes * 60 + seconds - ms / 1000) > 1.0


# One line per gameTime: "H - M:SS" captured, anything else an empty match (so rows stay aligned).
# At most 9 digits a number (int64-safe); a longer one is no clock and reads as "disagrees".
_GAME_TIME_LINES = re.compile(r"^(?:[ \t]*(\d{1,9})[ \t]*-[ \t]*(-?\d{1,9}):(\d{1,9})[ \t]*|.*)$", re.MULTILINE)


def _count_bad_game_times(game_times: list[str], half: np.ndarray, ms: np.ndarray) -> int:
    """How many ``gameTime`` strings disagree with their half and position (``ms >= 0`` only: no clock
    shows a negative time one agreed way). One regex pass over all of them instead of one call each."""
    check = (ms >= 0) & (ms < LATEST_POSITION_MS)  # a capped position has no clock to agree with
    if not check.any():
        return 0
    texts = [game_times[i] for i in np.flatnonzero(check)]
    rows = _GAME_TIME_LINES.findall("\n".join(texts))
    if len(rows) != len(texts):  # a gameTime holding a line break: one by one
        return sum(_game_time_disagrees(t, h, m) for t, h, m in zip(texts, half[check], ms[check]))
    # int() through map: numpy's str -> int conversion is ~20x slower than Python's own.
    values = np.fromiter(map(int, [x or "0" for row in rows for x in row]), np.int64, count=3 * len(rows)).reshape(-1, 3)
    parsed = np.fromiter((row[0] != "" for row in rows), bool, count=len(rows))
    clock_s = values[:, 1] * 60 + values[:, 2]
    agrees = (parsed & (values[:, 0] == half[check]) & (values[:, 2] < 60)
              & (np.abs(clock_s - ms[check] / 1000) <= 1.0))
    return int((~agrees).sum())


_NO_GAME_TIME = object()


def _columns(items: list, path: Path, unknown: str, spec: Specifications, skipped: Counter | None) -> tuple:
    """``(half, position_ms, class_index, confidence, odd_half, fractional_half, game_times)`` of the
    predictions kept, cast as the official code casts them; raises naming the first one SoccerNet cannot
    read either. (A columnar fast path with numpy or map() casts measured no faster on the real files.)"""
    half, pos, cls, conf, game_times = [], [], [], [], []
    odd_half = fractional_half = 0
    class_index = spec.class_index
    for i, item in enumerate(items):
        try:
            label = item["label"]
            if label not in class_index:
                if unknown == "skip":
                    if skipped is not None:
                        skipped[str(label)[:60]] += 1
                    continue
                raise InputError(path, f"prediction {i}: unknown label {str(label)[:60]!r}", unknown_label_fix(spec))
            raw_half = item["half"]
            h = int(raw_half)  # int() as officially: a numeric 1.5 is half 1
            ms = int(item["position"])
            c = float(item["confidence"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise InputError(path, f"prediction {i} is malformed",
                             "each prediction needs label, half, position (integer ms, finite) and "
                             "confidence, as SoccerNet's evaluator reads them") from None
        if ms < EARLIEST_POSITION_MS:
            raise InputError(path, f"prediction {i}: position {ms} ms is more than 120 minutes before the half's start",
                             "SoccerNet's evaluator fails on it too: fix or remove that prediction")
        if isinstance(raw_half, float) and h != raw_half:
            fractional_half += 1
        if h not in (1, 2):
            odd_half += 1  # never written into a half's vector officially
            continue
        half.append(h)
        pos.append(min(ms, LATEST_POSITION_MS))
        cls.append(class_index[label])
        conf.append(c)
        game_times.append(item.get("gameTime", _NO_GAME_TIME))
    return (np.asarray(half, np.int64), np.asarray(pos, np.int64), np.asarray(cls, np.int64),
            np.asarray(conf, np.float64), odd_half, fractional_half, game_times)


def parse_results_file(data: dict, path: str | Path = RESULTS_FILE, unknown: str = "skip",
                       framerate: float = 2.0, classes: Classes = None, skipped: Counter | None = None) -> ResultsFile:
    """Predictions of one game, read as SoccerNet's ``evaluate()`` reads them, with notes on the unusual.

    ``classes`` is the class set (default SoccerNet-v2's 17), ``framerate`` the evaluation grid's.
    Values may be strings (official files) or numbers. Unknown labels are skipped by default, as
    SoccerNet's evaluator does (each counted in ``skipped`` when given); ``unknown="error"`` rejects them. Accepted as the official
    ``predictions2vector`` accepts them, each counted in a note: positions before the half's start
    (kept negative: the metrics put them where the official vector does) or past 120 minutes
    (clipped to its last frame), confidences outside [0, 1] or not finite, halves other than 1 or 2
    (ignored) or not whole numbers (``int()``, as officially), a missing or inconsistent
    ``gameTime`` (never read officially), and several predictions on one frame (at ``framerate``)
    and class (the last one counts). Raises :class:`InputError` for what the official code cannot
    read either (a missing field, a non-integer position string, a non-finite position, a position
    more than 120 minutes before the half's start).
    """
    path = Path(path)
    if not isinstance(data, dict) or not isinstance(data.get("predictions"), list):
        raise InputError(path, "no 'predictions' list", "expected a SoccerNet results_spotting.json")
    items = data["predictions"]
    spec = class_set(classes)
    half, position, class_index, confidence, odd_half, fractional_half, game_times = _columns(
        items, path, unknown, spec, skipped)
    present = [g is not _NO_GAME_TIME for g in game_times]
    no_game_time = len(game_times) - sum(present)
    has = np.asarray(present, dtype=bool)
    bad_game_time = _count_bad_game_times([str(g) for g, p in zip(game_times, present) if p], half[has],
                                          position[has]) if has.any() else 0
    events = Annotations(half=half, position_ms=position, class_index=class_index,
                         visible=np.ones(len(half), bool), team=np.full(len(half), "", dtype="<U1"),
                         confidence=confidence)
    return ResultsFile(path, events, _notes(events, framerate, spec.num_classes, odd_half, fractional_half,
                                            no_game_time, bad_game_time))


def _notes(events: Annotations, framerate: float, num_classes: int, odd_half: int, fractional_half: int,
           no_game_time: int, bad_game_time: int) -> tuple[str, ...]:
    notes = []
    before = int((events.position_ms < 0).sum())
    if before:
        notes.append(f"{_plural(before, 'prediction')} before the half's start (drawn at 0:00; SoccerNet's "
                     "evaluate() puts those within one frame of it on frame 0 and earlier ones at the end of "
                     "its 120-minute vector, where they can only be false alarms — so do these figures)")
    late = int((events.position_ms >= 120 * 60 * 1000).sum())
    if late:
        notes.append(f"{_plural(late, 'prediction')} past 120 minutes (counted on the last frame of the "
                     "120-minute vector, as in evaluate())")
    confidence = events.confidence
    finite = np.isfinite(confidence)
    outside = int((finite & ((confidence < 0) | (confidence > 1))).sum())
    if outside:
        notes.append(f"{_plural(outside, 'confidence')} outside [0, 1] (below 0: never counted; above 1: "
                     "counted at every threshold, as in evaluate())")
    if not finite.all():
        notes.append(f"{_plural(int((~finite).sum()), 'confidence')} not finite (NaN and -Inf never counted, "
                     "+Inf at every threshold, as in evaluate())")
    if odd_half:
        notes.append(f"{_plural(odd_half, 'prediction')} with a half other than 1 or 2, ignored as evaluate() ignores them")
    if fractional_half:
        notes.append(f"{_plural(fractional_half, 'half')} not a whole number, read as int() reads it (1.5 → 1), "
                     "as evaluate() does")
    if no_game_time:
        notes.append(f"{_plural(no_game_time, 'prediction')} without a gameTime (not needed: half and position are used)")
    if bad_game_time:
        notes.append(f"{_plural(bad_game_time, 'gameTime')} disagreeing with half and position (half and "
                     "position are used, as by evaluate())")
    if len(events):
        # Where the official vector puts each one (metrics_core owns that rule: truncated, clipped at the
        # top, negatives from the end); other halves and classes are never written there.
        key = entry_key(events, np.zeros(len(events), np.int64), framerate, num_classes)[2]
        key = key[key >= 0]
        duplicates = len(key) - len(np.unique(key))
        if duplicates:
            notes.append(f"{_plural(duplicates, 'prediction')} on the same frame and class as a later one "
                         "(only the last one counts, as in evaluate())")
    return tuple(notes)


def parse_results(data: dict, path: str | Path = RESULTS_FILE, unknown: str = "skip",
                  classes: Classes = None) -> Annotations:
    """Predictions of one game (see :func:`parse_results_file`, which also says what was unusual)."""
    return parse_results_file(data, path, unknown=unknown, classes=classes).events


def read_results_file(path: str | Path, unknown: str = "skip", framerate: float = 2.0, classes: Classes = None,
                      skipped: Counter | None = None) -> ResultsFile:
    """Read a ``results_spotting.json`` file with its notes (see :func:`parse_results_file`)."""
    return parse_results_file(read_json(path), path, unknown=unknown, framerate=framerate, classes=classes,
                              skipped=skipped)


def read_results(path: str | Path, unknown: str = "skip", classes: Classes = None) -> Annotations:
    """Read a ``results_spotting.json`` file's predictions (labels of the set ``classes``)."""
    return read_results_file(path, unknown=unknown, classes=classes).events


def results_dict(events: Annotations, url_local: str = "", classes: Classes = None, framerate: float = 2.0) -> dict:
    """The official JSON structure (string values, as SoccerNet publishes them); ``classes`` names the
    class indices (default SoccerNet-v2), ``framerate`` is the evaluation grid of the set."""
    names = class_set(classes).classes
    # Sorted by half and evaluation frame only: predictions sharing a frame and class keep their
    # order, because SoccerNet's evaluator keeps the last one written.
    order = np.lexsort((events.frames(framerate), events.half))
    halves = events.half[order].astype(np.int64).tolist()  # plain Python values: no per-event numpy scalars
    positions = events.position_ms[order].astype(np.int64).tolist()
    classes = events.class_index[order].astype(np.int64).tolist()
    confidences = events.confidence[order].astype(np.float64).tolist()
    predictions = [
        {
            "gameTime": format_game_time(half, position),
            "label": names[cls],
            "position": str(position),
            "half": str(half),
            "confidence": str(confidence),
        }
        for half, position, cls, confidence in zip(halves, positions, classes, confidences)
    ]
    return {"UrlLocal": url_local, "predictions": predictions}


def write_results(path: str | Path, events: Annotations, url_local: str = "", force: bool = False,
                  classes: Classes = None, framerate: float = 2.0) -> Path:
    """Write ``results_spotting.json`` atomically (labels named by ``classes``, see :func:`results_dict`);
    refuse to overwrite an existing file unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(path, "already exists", "pass --force to overwrite it or choose another --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    results = results_dict(events, url_local, classes, framerate)
    # One prediction per line: readable, and json's C encoder (it is bypassed whenever indent is set)
    # writes thousands of predictions in milliseconds.
    lines = ",\n".join(map(json.dumps, results["predictions"]))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f'{{"UrlLocal": {json.dumps(results["UrlLocal"])}, "predictions": [\n{lines}\n]}}\n')
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; a results file or checkpoint is meant to be shared
    os.replace(tmp, path)
    return path
