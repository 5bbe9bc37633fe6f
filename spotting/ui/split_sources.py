"""The split page's data: a split's labels, each model's predictions and figures, cached here only.

Every cache key is built in this module (from paths, file modification times, the split, δ): the page
passes plain values. Read-only results (lists of events, matches) are kept with
``st.cache_resource`` so a threshold change re-uses them without a copy; a threshold change only
re-counts (:meth:`spotting.analysis.SplitMatch.counts`), a δ change re-matches.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from spotting.analysis import PerGameMetrics, SplitMatch, match_split, per_game_average_map
from spotting.prediction_sets import ModelPredictions, load_model_predictions
from spotting.datatree import Tree, detect_specifications
from spotting.errors import InputError
from spotting.metrics import SpottingMetrics, average_map
from spotting.results import RESULTS_FILE
from spotting.selection import find_games
from spotting.soccernet import Annotations, read_labels
from spotting.specs import SOCCERNET_V2, Specifications
from spotting.ui.paths import studio_cache_dir



def checkpoint_cache() -> Path:
    """Where a checkpoint's split results go: ``split-predictions/`` in the app's cache (``$STUDIO_CACHE_DIR``
    or ``~/.cache/action-spotting-studio``), never a folder of the user's data."""
    return studio_cache_dir() / "split-predictions"


@dataclass(frozen=True)
class SplitLabels:
    """The games of a split that have labels, in the split's order, and their labels."""

    games: list[str]  # names relative to the SoccerNet root
    labels: list[Annotations]
    stamp: tuple  # label files' modification times: part of every key below
    spec: Specifications = SOCCERNET_V2  # the class set, label file and evaluation rate recognised in the root

    @property
    def metrics(self) -> tuple[str, str]:
        """The two Average-mAP variants the page shows: loose and tight (SoccerNet-v2), or the set's own
        metric and tight (Ball Action: at1, tight)."""
        return ("loose", "tight") if self.spec.metric in ("loose", "tight") else (self.spec.metric, "tight")


@dataclass(frozen=True)
class ModelSpec:
    """A prediction set: a lane name and the folder holding ``<game>/results_spotting.json``."""

    name: str
    directory: str
    saved: bool = False  # a model folder under the predictions root: the game page lists it by name


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


@st.cache_resource(show_spinner="Reading the split's labels…", max_entries=8)
def _split_labels(root: str, split: str | None, stamp: float) -> SplitLabels:
    spec, _ = detect_specifications(Tree(root))  # the root's class set, from its label files' names
    games = find_games(root, split=split, require="labels", labels_file=spec.labels_file, dataset=spec.dataset)
    from spotting.ui.sources import checked_labels

    # Unknown labels skipped, as officially; a file of another shape is an InputError naming it, not a traceback.
    labels = [checked_labels(g.labels_path, lambda g=g: read_labels(g.labels_path, unknown="skip", classes=spec))
              for g in games]
    return SplitLabels([g.name for g in games], labels, tuple(_mtime(g.labels_path) for g in games), spec)


def split_labels(root: str, split: str | None) -> SplitLabels:
    """Labels of every game of ``split`` (:mod:`spotting.selection`'s vocabulary; None: ``all``) under ``root``, in the class set recognised
    there (:func:`spotting.datatree.detect_specifications`); InputError when none."""
    # The root's own mtime and the listing's cache (60 s) keep this cheap; a label file edited in place is
    # seen by the per-file stamps the figures below are keyed by.
    result = _split_labels(root, split, _mtime(Path(root)))
    if not result.games:
        raise InputError(root, f"no game of the {split or 'all'} split has a {result.spec.labels_file}",
                         "pick another split or point the SoccerNet root at your data")
    return result


def _predictions_stamp(directory: str, games: list[str]) -> float:
    """Sum of the results files' mtimes: changes when any file is rewritten, added or removed."""
    return float(sum(_mtime(Path(directory) / g / RESULTS_FILE) for g in games))


@st.cache_resource(show_spinner=False, max_entries=16)
def _model(directory: str, name: str, games: tuple[str, ...], missing_as_empty: bool, stamp: float,
           classes: Specifications) -> ModelPredictions:
    return load_model_predictions(directory, list(games), missing_as_empty=missing_as_empty, name=name, spec=classes)


def model_predictions(spec: ModelSpec, split: SplitLabels, missing_as_empty: bool) -> ModelPredictions:
    """One prediction set read for every game of the split, in its class set (errors and missing files
    collected, not raised); ``spec.directory`` is a folder or a zip."""
    return _model(spec.directory, spec.name, tuple(split.games), missing_as_empty,
                  _predictions_stamp(spec.directory, split.games), split.spec)


def _evaluated(model: ModelPredictions, split: SplitLabels) -> tuple[list[Annotations], list[Annotations]]:
    keep = np.flatnonzero(model.evaluated)
    return [split.labels[i] for i in keep], [model.predictions[i] for i in keep]


@st.cache_resource(show_spinner=False, max_entries=64)
def _overall(_model_value: ModelPredictions, _split: SplitLabels, key: tuple, metric: str) -> SpottingMetrics:
    labels, predictions = _evaluated(_model_value, _split)
    return average_map(labels, predictions, metric, _split.spec.framerate, _split.spec.num_classes)


@st.cache_resource(show_spinner=False, max_entries=64)
def _per_game(_model_value: ModelPredictions, _split: SplitLabels, key: tuple, metric: str) -> PerGameMetrics:
    return per_game_average_map(_split.labels, _model_value.predictions, metric, _split.spec.framerate,
                                _split.spec.num_classes)


@st.cache_resource(show_spinner=False, max_entries=32)
def _match(_model_value: ModelPredictions, _split: SplitLabels, key: tuple, tolerance_s: float) -> SplitMatch:
    return match_split(_split.labels, _model_value.predictions, tolerance_s, _split.spec.framerate,
                       _split.spec.num_classes)


def _key(spec: ModelSpec, split: SplitLabels, model: ModelPredictions) -> tuple:
    # Arguments starting with "_" are not hashed by Streamlit; this tuple stands for them.
    return (spec, split.stamp, tuple(split.games), model.missing_as_empty,
            _predictions_stamp(spec.directory, split.games), split.spec)


def overall(spec: ModelSpec, split: SplitLabels, model: ModelPredictions, metric: str) -> SpottingMetrics:
    """Official Average-mAP of the model over the games it was evaluated on (threshold-free)."""
    return _overall(model, split, _key(spec, split, model), metric)


def per_game(spec: ModelSpec, split: SplitLabels, model: ModelPredictions, metric: str) -> PerGameMetrics:
    """Each game's Average-mAP (games without a readable file have no figure: see ``model.evaluated``)."""
    return _per_game(model, split, _key(spec, split, model), metric)


def split_match(spec: ModelSpec, split: SplitLabels, model: ModelPredictions, tolerance_s: float) -> SplitMatch:
    """The official matching of every game at δ, ready for any threshold."""
    return _match(model, split, _key(spec, split, model), float(tolerance_s))


# ------------------------------------------------------------------ a checkpoint run on every game

def checkpoint_digest(checkpoint: str | Path) -> str:
    """First 16 hex digits of the checkpoint file's SHA-256: its results are cached under it."""
    digest = hashlib.sha256()
    with open(checkpoint, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def run_checkpoint(checkpoint: str, root: str, split: str | None,
                   progress: Callable[[int, int, str], None] | None = None) -> tuple[ModelSpec, list[str]]:
    """Spot every game of the split that has the checkpoint's features; write each game's results under
    ``checkpoint_cache()/<checkpoint digest>/<game>/results_spotting.json`` (never in the user's folders).

    A game already there is not run again (the key is the checkpoint's content and the game), so a
    second visit is instant. Returns the prediction set and the games skipped for lack of features.
    """
    from spotting.infer import load_checkpoint, score_game
    from spotting.postprocess import SpottingConfig, spot_events
    from spotting.results import write_results

    path = Path(checkpoint)
    if not path.is_file():
        raise InputError(path, "checkpoint not found", "check the path")
    out = checkpoint_cache() / checkpoint_digest(path)
    loaded = None
    classes, _ = detect_specifications(Tree(root))
    games = find_games(root, split=split, require="labels", labels_file=classes.labels_file, dataset=classes.dataset)
    skipped = []
    for done, game in enumerate(games, start=1):
        target = out / game.name / RESULTS_FILE
        if not target.is_file():
            if loaded is None:
                loaded = load_checkpoint(path)
                if loaded.spec.classes != classes.classes:
                    raise InputError(path, f"the model spots {loaded.spec.describe()}, the split's labels are "
                                     f"{classes.describe()}", "pick a checkpoint trained on this class set")
            game = type(game)(game.directory, game.name, loaded.features, game.split, game.files, game.labels_file)
            if not game.has_features():
                skipped.append(game.name)
            else:
                scores = score_game(loaded, game)  # NaN scores are refused there, naming the file
                config = SpottingConfig.from_checkpoint_info(loaded.info, loaded.spec)  # its calibrated settings
                write_results(target, spot_events(scores, config), url_local=game.name, force=True,
                              classes=loaded.spec, framerate=loaded.spec.framerate)
        if progress is not None:
            progress(done, len(games), game.name)
    return ModelSpec(path.stem, str(out)), skipped
