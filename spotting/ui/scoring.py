"""A checkpoint run on a game's features, cached: the model, its scores, NMS candidates and curves.

This module owns its cache keys: callers pass a checkpoint path, a game and its halves (and the NMS
window); the key adds the checkpoint's modification time, so an edited checkpoint is run again. The
model is kept with ``st.cache_resource`` (keyed by path and mtime), scores in a small store shared by
every session (see :func:`_scores_store` for why not ``st.cache_data``), NMS candidates and display
curves with ``st.cache_data`` on top of them: a threshold change only re-filters cached events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from spotting.errors import InputError
from spotting.soccernet import Annotations, Game
from spotting.ui.sources import stamp
from spotting.ui.uploads import upload_name

MAX_SCORED_GAMES = 8

ScoresKey = tuple[str, float, Game, tuple[int, ...]]  # (checkpoint, its mtime, game, halves)


def _key(checkpoint: str | Path, game: Game, halves: tuple[int, ...]) -> ScoresKey:
    return str(checkpoint), stamp(checkpoint), game, tuple(halves)


def check_checkpoint(checkpoint: str | Path) -> None:
    """Load the checkpoint now (cached), so a bad file is named as the user knows it (an upload's name)."""
    _load_model(str(checkpoint), stamp(checkpoint))


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _load_model(checkpoint: str, mtime: float):
    from spotting.infer import load_checkpoint

    try:
        return load_checkpoint(checkpoint)
    except InputError as error:
        raise upload_name(error) from None
    except Exception as error:  # a config the model cannot be built from: still one line naming the file
        raise upload_name(InputError(checkpoint, f"not a usable checkpoint ({type(error).__name__})",
                                     "the file is damaged or from another model version")) from None


@st.cache_resource(show_spinner=False)
def _scores_store() -> tuple[dict, threading.Lock]:
    """Scores of the last few (checkpoint, game) pairs, shared by every session.

    A plain dict kept by ``st.cache_resource`` rather than ``st.cache_data``: the inference reports
    progress into an ``st.progress`` bar created by the page, which ``st.cache_data`` would try to
    record and replay (it refuses elements drawn into blocks created outside the cached function).
    """
    return {}, threading.Lock()


def model_task(checkpoint: str | Path):
    """The checkpoint's task and feature rate: ``(Specifications, frames per second)``, read once per file version."""
    return _model_task(str(checkpoint), stamp(checkpoint))


@st.cache_data(show_spinner=False, max_entries=16)
def _model_task(checkpoint: str, mtime: float):
    loaded = _load_model(checkpoint, mtime)
    return loaded.spec, float(loaded.framerate)


def is_scored(checkpoint: str | Path, game: Game, halves: tuple[int, ...]) -> bool:
    """Whether :func:`game_scores` would answer from the cache (the page shows a progress bar if not)."""
    return _key(checkpoint, game, halves) in _scores_store()[0]


def game_scores(checkpoint: str | Path, game: Game, halves: tuple[int, ...],
                progress: Callable[[int, int], None] | None = None):
    """Run the checkpoint on the game's features → ``GameScores``, once per (checkpoint, game), through
    the library's one :func:`spotting.infer.score_game` (a bad file is named as the user knows it)."""
    from spotting.infer import score_game

    key = _key(checkpoint, game, halves)
    store, lock = _scores_store()
    with lock:
        if key not in store:
            try:
                store[key] = score_game(_load_model(key[0], key[1]), game, progress=progress, halves=halves)
            except InputError as error:
                raise upload_name(error) from None
            while len(store) > MAX_SCORED_GAMES:
                store.pop(next(iter(store)))
        return store[key]


def model_events(checkpoint: str | Path, game: Game, halves: tuple[int, ...], nms_window_s: float) -> Annotations:
    """NMS candidates of every class (no threshold): once per NMS window; thresholds filter them later."""
    return _detected_events(*_key(checkpoint, game, halves), float(nms_window_s))


@st.cache_data(show_spinner=False, max_entries=32)
def _detected_events(checkpoint: str, mtime: float, game: Game, halves: tuple[int, ...],
                     nms_window_s: float) -> Annotations:
    from dataclasses import replace

    from spotting.postprocess import SpottingConfig, detect_events

    loaded = _load_model(checkpoint, mtime)
    # The checkpoint's own post-processing (suppression kind, calibrated refinement), with the page's NMS
    # window for every class (the slider) and no threshold (the page applies its thresholds afterwards).
    saved = SpottingConfig.from_checkpoint_info(loaded.info, getattr(loaded, "spec", None))
    settings = replace(saved, nms_window_s=nms_window_s, class_nms_windows_s=(), threshold=0.0, class_thresholds=())
    return detect_events(game_scores(checkpoint, game, halves), settings)


def display_curves(checkpoint: str | Path, game: Game, halves: tuple[int, ...], half: int,
                   max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Decimated segmentation curves of one half: times ``(C, P)`` and values ``(C, P)`` (C: the model's classes).

    Each class keeps its own peaks, so each has its own sample times.
    """
    return _display_curves(*_key(checkpoint, game, halves), int(half), int(max_points))


@st.cache_data(show_spinner=False, max_entries=32)
def _display_curves(checkpoint: str, mtime: float, game: Game, halves: tuple[int, ...], half: int,
                    max_points: int) -> tuple[np.ndarray, np.ndarray]:
    from spotting.ui.figures import decimate_curve

    scores = game_scores(checkpoint, game, halves).halves[half]
    times = scores.times()
    columns = [decimate_curve(times, scores.segmentation[:, c], max_points) for c in range(scores.segmentation.shape[1])]
    return np.stack([t for t, _ in columns]), np.stack([v for _, v in columns])
