"""Prediction sets: one model's ``results_spotting.json`` for every game of a split, read from a folder
or a zip in SoccerNet's layout, with what could not be read (missing, unreadable, odd files) kept
beside the events. The split explorer and ``python -m spotting.evaluate`` read models through it;
:mod:`spotting.analysis` scores what it returns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spotting.datatree import open_tree
from spotting.errors import InputError
from spotting.results import RESULTS_FILE, parse_results_file
from spotting.soccernet import Annotations
from spotting.specs import SOCCERNET_V2, Specifications

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ModelPredictions:
    """One model's predictions for a list of games, with what could not be read."""

    name: str  # the model folder's name
    predictions: list[Annotations]  # aligned with ``games``; Annotations.empty() where missing/unreadable
    missing: list[str]  # game names with no prediction file
    errors: list[str]  # one line per unreadable/corrupt file (the InputError text, naming the file)
    warnings: list[str]  # ResultsFile.warning lines (negative positions etc.), one per file
    games: list[str] = field(default_factory=list)  # the games asked for, in order
    unreadable: list[str] = field(default_factory=list)  # game names whose file gave an error
    missing_as_empty: bool = False  # a missing file counts as a game with no predictions
    spec: Specifications = SOCCERNET_V2  # the class set the predictions were read in
    skipped: Counter = field(default_factory=Counter)  # unknown labels dropped (unknown="skip"), with counts
    notes: list[tuple[str, ...]] = field(default_factory=list)  # ResultsFile.notes of each file in ``warnings``

    @property
    def evaluated(self) -> np.ndarray:
        """``(G,)`` bool: the game has a readable file, or has none and missing files count as empty."""
        bad = set(self.unreadable) | (set() if self.missing_as_empty else set(self.missing))
        return np.array([g not in bad for g in self.games], dtype=bool)


def model_names(predictions_dirs: Sequence[str | Path]) -> list[str]:
    """Each folder's (or zip's, without ``.zip``) name; a name already taken gets ``-2``, ``-3``, ... (``a``, ``a-2``)."""
    names: list[str] = []
    for directory in predictions_dirs:
        path = Path(directory).resolve()
        base = (path.stem if path.suffix.lower() == ".zip" else path.name) or str(directory)
        name, k = base, 2
        while name in names:
            name, k = f"{base}-{k}", k + 1
        names.append(name)
    return names


def load_model_predictions(predictions_dir: str | Path, games: Sequence[str], prediction_file: str = RESULTS_FILE,
                           missing_as_empty: bool = False, name: str | None = None,
                           progress: Progress | None = None, unknown: str = "skip",
                           framerate: float | None = None, spec: Specifications | None = None) -> ModelPredictions:
    """Read ``<predictions_dir>/<game>/<prediction_file>`` for every game (``read_results_file``);
    ``predictions_dir`` is a folder or a zip in SoccerNet's layout (:class:`spotting.datatree.Tree`).

    Never raises for one bad or missing file: a missing one is listed in ``missing``, an unreadable
    one in ``errors`` (its InputError text) and both get ``Annotations.empty()``. Labels are read in
    the class set ``spec`` (None: SoccerNet-v2) at its evaluation rate (or ``framerate``); ``unknown``
    is passed to the reader ("skip" drops labels outside the set as SoccerNet does, counting them in
    ``skipped``; "error" makes the file an error). Raises :class:`InputError` only when
    ``predictions_dir`` is neither a folder nor a zip.
    """
    spec = spec or SOCCERNET_V2
    framerate = spec.framerate if framerate is None else framerate
    tree = open_tree(predictions_dir)
    predictions: list[Annotations] = []
    missing, errors, warnings, unreadable, notes = [], [], [], [], []
    skipped: Counter = Counter()
    for done, game in enumerate(games, start=1):
        relative = f"{game}/{prediction_file}"
        events = Annotations.empty()
        if not tree.has(relative):
            missing.append(game)
        else:
            try:
                results = parse_results_file(tree.read_json(relative), tree.where(relative), unknown=unknown,
                                             framerate=framerate, classes=spec, skipped=skipped)
                events = results.events
                if results.warning:
                    warnings.append(results.warning)
                    notes.append(results.notes)
            except InputError as error:
                errors.append(str(error))
                unreadable.append(game)
            except OSError as error:  # unreadable (permissions, I/O): still one line naming the file
                errors.append(f"{tree.where(relative)}: cannot be read ({error.strerror or error})")
                unreadable.append(game)
        predictions.append(events)
        if progress is not None:
            progress(done, len(games))
    return ModelPredictions(name or model_names([predictions_dir])[0], predictions, missing, errors, warnings,
                            list(games), unreadable, missing_as_empty, spec, skipped, notes)
