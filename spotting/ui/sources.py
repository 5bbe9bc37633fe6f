"""Where the page's game and predictions come from: the demo, a SoccerNet folder, uploads, checkpoints.

Everything slow is cached here: the model with ``st.cache_resource`` (keyed by checkpoint path and
mtime), features, labels, scores and detected events with ``st.cache_data`` (keyed by paths, mtimes
and the NMS window), so a threshold change only re-filters cached events.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from spotting import demo
from spotting.demo import DEMO_FEATURES
from spotting.errors import InputError
from spotting.results import RESULTS_FILE, ResultsFile, parse_results_file, read_results_file
from spotting.soccernet import HALVES, LABELS_FILE, Annotations, Game, find_games, game_title, parse_labels

FRAMERATE = 2.0
UPLOAD_FEATURES = "uploaded.npy"
REPO_ROOT = Path(__file__).resolve().parents[2]
UPLOAD_DIR = Path(tempfile.gettempdir()) / "spotting-studio-uploads"
MAX_SCORED_GAMES = 8


@dataclass(frozen=True)
class GameData:
    """The game the page shows."""

    game: Game
    title: str
    labels: Annotations | None  # None when the game has no Labels-v2.json
    half_durations_s: dict[int, float]
    feature_halves: tuple[int, ...]  # halves whose features exist (a model can run on them)
    url_local: str = ""  # the game's path under a SoccerNet root ("" for the demo and uploads): UrlLocal in exports


@dataclass(frozen=True)
class DemoAssets:
    game: Game | None
    checkpoint: Path | None
    problem: str = ""  # why the demo is unavailable


def stamp(path: str | Path) -> float:
    """Modification time, part of cache keys so an edited file is re-read."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def demo_assets() -> DemoAssets:
    """The embedded demo; ``STUDIO_DEMO_DIR`` / ``STUDIO_DEMO_CHECKPOINT`` override it (tests, custom demos)."""
    override = os.environ.get("STUDIO_DEMO_DIR")
    if override:
        directory = Path(override)
        if not directory.is_dir():
            return DemoAssets(None, None, f"STUDIO_DEMO_DIR={override} is not a folder")
        checkpoint = os.environ.get("STUDIO_DEMO_CHECKPOINT")
        features = os.environ.get("STUDIO_DEMO_FEATURES", DEMO_FEATURES)
        game = Game(directory, "demo", features=features, files=tuple(sorted(p.name for p in directory.iterdir())))
        return DemoAssets(game, Path(checkpoint) if checkpoint else None)
    try:
        game, checkpoint = demo.demo_game(), Path(demo.demo_checkpoint())
    except (InputError, OSError) as error:
        return DemoAssets(None, None, f"{error} — rebuild it with `python -m spotting.demo build`")
    return DemoAssets(game, checkpoint if checkpoint.is_file() else None)


def default_soccernet_root() -> str:
    """``SOCCERNET_DIR``, else the shared real data next to the repository when present."""
    if os.environ.get("SOCCERNET_DIR"):
        return os.environ["SOCCERNET_DIR"]
    shared = REPO_ROOT.parent / "shared" / "data" / "soccernet"
    return str(shared) if shared.is_dir() else ""


def predictions_root(soccernet_root: str) -> Path | None:
    """``SOCCERNET_PREDICTIONS_DIR``, else a ``predictions/`` folder beside the SoccerNet root."""
    candidate = os.environ.get("SOCCERNET_PREDICTIONS_DIR") or (
        str(Path(soccernet_root).parent / "predictions") if soccernet_root else "")
    return Path(candidate) if candidate and Path(candidate).is_dir() else None


@st.cache_data(ttl=60, show_spinner="Looking for games…")
def list_games(root: str, split: str | None, features: str) -> list[Game]:
    return find_games(root, split=split, features=features)


@st.cache_data(ttl=60, show_spinner=False)
def saved_predictions(root: str, game_name: str) -> dict[str, str]:
    """``{model folder: results file}`` for every ``<root>/<model>/<game>/results_spotting.json``."""
    found = {}
    for model in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        path = model / game_name / RESULTS_FILE
        if path.is_file():
            found[model.name] = str(path)
    return found


def _games_json_durations(game: Game) -> dict[int, float]:
    """Half lengths from a ``games.json`` beside (or above) the SoccerNet root, as in the shared data."""
    root = Path(str(game.directory)[: -len(game.name)]) if str(game.directory).endswith(game.name) else game.directory
    for candidate in (root / "games.json", root.parent / "games.json"):
        if candidate.is_file():
            try:
                rows = json.loads(candidate.read_text(encoding="utf-8"))
                row = next((r for r in rows if r.get("game") == game.name), None)
                if row:
                    return {int(h): float(s) for h, s in row["half_duration_s"].items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                return {}
    return {}


def _half_durations(game: Game, labels: Annotations | None, frames: dict[int, int]) -> dict[int, float]:
    known = _games_json_durations(game)
    durations = {}
    for half in HALVES:
        if half in frames:
            durations[half] = frames[half] / FRAMERATE
        elif half in known:
            durations[half] = known[half]
        else:
            last = labels.position_ms[labels.half == half].max() / 1000 if labels is not None and (labels.half == half).any() else 0
            durations[half] = float(max(45 * 60, np.ceil((last + 30) / 60) * 60))
    return durations


@st.cache_data(show_spinner="Reading the game…", max_entries=32)
def load_game(game: Game, title: str, url_local: str, stamps: tuple) -> GameData:
    """Labels and feature shapes of a game folder (features are memory-mapped, only shapes read here).

    ``stamps`` (file mtimes, see :func:`game_stamps`) is only part of the cache key: edited files are re-read.
    """
    labels = game.read_labels() if game.has_labels else None
    frames = {}
    for half in HALVES:
        if game.features_path(half).is_file():
            frames[half] = int(game.load_features(half).shape[0])
    return GameData(game, title, labels, _half_durations(game, labels, frames), tuple(sorted(frames)), url_local)


def game_stamps(game: Game) -> tuple:
    return tuple(stamp(p) for p in (game.labels_path, *(game.features_path(h) for h in HALVES)))


def soccernet_game(game: Game) -> GameData:
    return load_game(game, game_title(game.name), game.name, game_stamps(game))


@st.cache_data(show_spinner=False, max_entries=64)
def load_results_file(path: str, mtime: float) -> ResultsFile:
    """A results file's predictions and its notes (negative positions, odd confidences, ...)."""
    return read_results_file(path)


@st.cache_data(show_spinner=False, max_entries=64)
def load_results_upload(name: str, data: bytes) -> ResultsFile:
    return parse_results_file(_json_bytes(name, data), name)


def _json_bytes(name: str, data: bytes) -> dict:
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(name, "not a UTF-8 text file", "upload the JSON file itself") from None
    except json.JSONDecodeError as error:
        raise InputError(name, f"malformed JSON (line {error.lineno}, column {error.colno}: {error.msg})",
                         "re-export or re-download the file") from None


def save_upload(name: str, data: bytes, as_name: str | None = None) -> Path:
    """Write an upload under a folder named by its content hash (same bytes → same path, cache hits)."""
    digest = hashlib.sha1(data).hexdigest()[:16]
    path = UPLOAD_DIR / digest / (as_name or Path(name).name)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def uploaded_game(features: dict[int, tuple[str, bytes]], labels: tuple[str, bytes] | None) -> GameData:
    """A game folder assembled from uploaded files; errors name the uploaded file, not the temp copy."""
    digest = hashlib.sha1(b"".join(data for _, data in
                                   [*features.values(), *([labels] if labels else [])])).hexdigest()[:16]
    directory = UPLOAD_DIR / f"game-{digest}"
    directory.mkdir(parents=True, exist_ok=True)
    for half, (name, data) in features.items():
        target = directory / f"{half}_{UPLOAD_FEATURES}"
        if not target.is_file():
            target.write_bytes(data)
        try:
            Game(directory, "upload", features=UPLOAD_FEATURES).load_features(half)
        except InputError as error:
            raise InputError(name, error.problem, error.fix) from None
    if labels is not None:
        name, data = labels
        parse_labels(_json_bytes(name, data), name)  # validate first, so errors name the uploaded file
        (directory / LABELS_FILE).write_bytes(data)
    files = tuple(sorted(p.name for p in directory.iterdir()))
    game = Game(directory, "uploaded game", features=UPLOAD_FEATURES, files=files)
    return load_game(game, "Uploaded game", "", game_stamps(game))


# ----------------------------------------------------------------------------- model predictions

@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(checkpoint: str, mtime: float):
    from spotting.infer import load_checkpoint

    return load_checkpoint(checkpoint)


@st.cache_resource(show_spinner=False)
def _scores_store() -> tuple[dict, threading.Lock]:
    """Scores of the last few (checkpoint, game) pairs, shared by every session.

    A plain dict kept by ``st.cache_resource`` rather than ``st.cache_data``: the inference reports
    progress into an ``st.progress`` bar created by the page, which ``st.cache_data`` would try to
    record and replay (it refuses elements drawn into blocks created outside the cached function).
    """
    return {}, threading.Lock()


def game_scores(checkpoint: str, mtime: float, game: Game, halves: tuple[int, ...],
                progress: Callable[[int, int], None] | None = None):
    """Run the checkpoint on the game's features → ``GameScores``, once per (checkpoint, game)."""
    from spotting.infer import infer_game

    store, lock = _scores_store()
    key = (checkpoint, mtime, game, halves)
    with lock:
        if key not in store:
            loaded = load_model(checkpoint, mtime)
            features = {half: np.array(game.load_features(half, dim=loaded.feature_dim), dtype=np.float32)
                        for half in halves}
            store[key] = infer_game(loaded, features, progress=progress)
            while len(store) > MAX_SCORED_GAMES:
                store.pop(next(iter(store)))
        return store[key]


def has_scores(checkpoint: str, mtime: float, game: Game, halves: tuple[int, ...]) -> bool:
    return (checkpoint, mtime, game, halves) in _scores_store()[0]


@st.cache_data(show_spinner=False, max_entries=32)
def detected_events(checkpoint: str, mtime: float, game: Game, halves: tuple[int, ...], nms_window_s: float) -> Annotations:
    """NMS candidates of every class (no threshold): runs once per NMS window, thresholds filter them later."""
    from spotting.postprocess import Refinement, detect_events

    refinement = Refinement.from_checkpoint_info(load_model(checkpoint, mtime).info)  # calibrated per class
    return detect_events(game_scores(checkpoint, mtime, game, halves), nms_window_s=nms_window_s, refinement=refinement)


@st.cache_data(show_spinner=False, max_entries=32)
def display_curves(checkpoint: str, mtime: float, game: Game, halves: tuple[int, ...], half: int,
                   max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Decimated segmentation curves of one half: times ``(17, P)`` and values ``(17, P)``.

    Each class keeps its own peaks, so each has its own sample times.
    """
    from spotting.ui.figures import decimate_curve

    scores = game_scores(checkpoint, mtime, game, halves).halves[half]
    times = scores.times()
    columns = [decimate_curve(times, scores.segmentation[:, c], max_points) for c in range(scores.segmentation.shape[1])]
    return np.stack([t for t, _ in columns]), np.stack([v for _, v in columns])
