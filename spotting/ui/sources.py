"""Where the game page's game and predictions come from: the demo, a SoccerNet folder, results files.

Everything slow is cached here with ``st.cache_data``, keyed by paths and modification times that
this module reads itself (callers never build a cache key): a game's labels and feature shapes,
results files (typed paths, files inside folders and zips). A file that cannot be read is cached as
such too: a bad path typed once is not re-read on every slider move. Uploads live in
:mod:`spotting.ui.uploads`, a checkpoint run on the features in :mod:`spotting.ui.scoring`.

Every file from outside is checked where it enters: JSON size and first bytes (uploads as typed
paths, zip members too), features finite, labels of the expected shape.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from spotting import demo
from spotting.demo import DEMO_FEATURES
from spotting.errors import InputError
from spotting.results import RESULTS_FILE, ResultsFile, parse_results_file, read_results_file
from spotting.soccernet import (DEFAULT_FEATURES, HALVES, LABELS_FILE, MAX_JSON_BYTES, Annotations, Game, find_games,
                                game_title, read_json)

FRAMERATE = 2.0
REPO_ROOT = Path(__file__).resolve().parents[2]


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
class Failure:
    """An :class:`InputError` as a cacheable value (an exception with custom arguments does not pickle)."""

    path: str | None
    problem: str
    fix: str

    @staticmethod
    def of(error: InputError) -> Failure:
        return Failure(None if error.path is None else str(error.path), error.problem, error.fix)

    def error(self) -> InputError:
        return InputError(self.path, self.problem, self.fix)


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


def allowed_predictions_root(soccernet_root: str) -> Path | None:
    """:func:`predictions_root`, or None when the app is restricted and it lies outside the data roots
    (beside a typed SoccerNet root, it is a folder nobody chose to serve)."""
    from spotting.ui.paths import inside_data_roots, restricted

    found = predictions_root(soccernet_root)
    if found is not None and restricted() and not inside_data_roots(found):
        return None
    return found


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


IN_GAME_FOLDER = "game folder"  # the lane name of a game folder's own results_spotting.json


def game_folder_results(game: Game) -> dict[str, str]:
    """Results files inside the game folder itself: ``results_spotting.json`` (lane "game folder") and
    ``<model>_results_spotting.json`` / ``results_spotting_<model>.json`` (lane ``<model>``)."""
    found = {}
    for name in sorted(game.files):
        stem = name.removesuffix(".json")
        if name.endswith(".json") and "results_spotting" in stem:
            found[_model_part(stem) or IN_GAME_FOLDER] = str(Path(game.directory) / name)
    return found


def _model_part(stem: str) -> str:
    """``netvlad_results_spotting_test`` → ``netvlad``: a file or zip name less the official words and split."""
    text = re.sub(r"results_spotting", "", stem)
    text = re.sub(r"(^|[_\-.])(test|valid|train|challenge)($|[_\-.])", r"\1\3", text)
    return text.strip("_-. ")


def results_name(path: str | Path, game_name: str) -> str:
    """A results path's lane name: the model it comes from, never the data root.

    ``<model>/<game>/results_spotting.json`` → ``<model>`` (the folder above the game's own folders);
    ``<game>/results_spotting.json`` inside a SoccerNet root → "game folder"; ``<model>/results_spotting.json``
    → ``<model>``; a zip ``<model>_results_spotting_test.zip`` → ``<model>`` (``results_spotting_test.zip``
    → its folder); a folder → its name; another file → its stem.
    """
    path = Path(path)
    if path.suffix.lower() == ".zip":
        return _model_part(path.stem) or path.parent.name or path.stem
    if path.suffix.lower() != ".json":  # a folder holding the game's results
        return path.name or str(path)
    folder = path.parent.as_posix()
    if game_name and folder.endswith("/" + game_name):
        model = Path(folder[: -len(game_name) - 1])
        # <root>/<league>/<season>/<game>/results_spotting.json: a file in the game folder of a SoccerNet root
        game_folder = model / game_name
        return IN_GAME_FOLDER if (game_folder / LABELS_FILE).is_file() or any(game_folder.glob("1_*")) else model.name
    if path.name == RESULTS_FILE:
        return path.parent.name
    return _model_part(path.stem) or path.stem


def results_at(path: Path, game: Game) -> ResultsFile:
    """The game's predictions from a typed path: a results file, a folder (``<folder>/<game>/results_spotting.json``
    or ``<folder>/results_spotting.json``) or a zip as SoccerNet's baselines write it (``<game>/results_spotting.json``
    inside, possibly under one top folder: :class:`spotting.datatree.Tree`). InputError naming the path when
    none is there."""
    if path.is_dir() and not (path / game.name / RESULTS_FILE).is_file():
        if (path / RESULTS_FILE).is_file():
            return results_file(str(path / RESULTS_FILE))
        raise InputError(path, f"no {game.name}/{RESULTS_FILE} in this folder",
                         "give a model folder holding <league>/<season>/<game>/results_spotting.json, or the file")
    if path.is_dir():
        return results_file(str(path / game.name / RESULTS_FILE))
    if path.suffix.lower() == ".zip" and path.is_file():
        result = _load_zipped_results(str(path), _file_stamp(str(path)), game.name)
        if isinstance(result, Failure):
            raise result.error()
        return result
    return results_file(str(path))


def _file_stamp(path: str) -> tuple[int, int]:
    try:
        info = os.stat(path)
        return info.st_size, info.st_mtime_ns
    except OSError:
        return -1, 0  # the reader names the problem


@st.cache_data(show_spinner=False, max_entries=64)
def _load_zipped_results(path: str, stamp: tuple, game_name: str) -> ResultsFile | Failure:
    """``<game>/results_spotting.json`` of a zip (read as one member, size-capped), or why it cannot be."""
    from spotting.datatree import Tree

    relative = f"{game_name}/{RESULTS_FILE}"
    try:
        tree = Tree(path)
        if not tree.has(relative):
            raise InputError(path, f"no {relative} in this zip", "zip the results of this game, or give the file")
        return parse_results_file(tree.read_json(relative), tree.where(relative))
    except InputError as error:
        return Failure.of(error)


def _games_json_durations(game: Game) -> dict[int, float]:
    """Half lengths from a ``games.json`` beside (or above) the SoccerNet root, as in the shared data."""
    root = Path(str(game.directory)[: -len(game.name)]) if str(game.directory).endswith(game.name) else game.directory
    for candidate in (root / "games.json", root.parent / "games.json"):
        if candidate.is_file():
            try:
                rows = read_json(candidate)  # size-capped like every JSON file
                row = next((r for r in rows if isinstance(r, dict) and r.get("game") == game.name), None)
                if row:
                    durations = {int(h): float(s) for h, s in row["half_duration_s"].items()}
                    return {h: s for h, s in durations.items() if h in HALVES and np.isfinite(s) and 0 < s < 86_400}
            except (InputError, ValueError, KeyError, TypeError, AttributeError, OverflowError):
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


def load_game(game: Game, title: str, url_local: str = "") -> GameData:
    """Labels and feature shapes of a game folder, read again when one of its files changed."""
    return _load_game(game, title, url_local, game_stamps(game))


@st.cache_data(show_spinner="Reading the game…", max_entries=32)
def _load_game(game: Game, title: str, url_local: str, stamps: tuple) -> GameData:
    """Labels and feature shapes of a game folder (features are memory-mapped, only shapes read here).

    ``stamps`` (file mtimes, see :func:`game_stamps`) is only part of the cache key: edited files are re-read.
    """
    labels = checked_labels(game.labels_path, lambda: game.read_labels()) if game.has_labels else None
    frames = {}
    for half in HALVES:
        if game.features_path(half).is_file():
            frames[half] = int(game.load_features(half).shape[0])
    return GameData(game, title, labels, _half_durations(game, labels, frames), tuple(sorted(frames)), url_local)


def checked_labels(name: str | Path, read: Callable[[], Annotations]) -> Annotations:
    """``read()``, with what the labels reader does not expect (a list where a label should be, ...)
    turned into an :class:`InputError` naming the file instead of a traceback."""
    try:
        return read()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as error:
        raise InputError(name, f"not a SoccerNet Labels-v2.json ({type(error).__name__} while reading its "
                         "annotations)", "check the file") from None


def game_stamps(game: Game) -> tuple:
    return tuple(stamp(p) for p in (game.labels_path, *(game.features_path(h) for h in HALVES)))


def soccernet_game(game: Game) -> GameData:
    return load_game(game, game_title(game.name), game.name)


def results_file(path: str) -> ResultsFile:
    """A results file read once per (path, size, mtime), failures included; InputError when unreadable."""
    result = load_results_file(path, _file_stamp(path))
    if isinstance(result, Failure):
        raise result.error()
    return result


@st.cache_data(show_spinner=False, max_entries=64)
def load_results_file(path: str, stamp: tuple | float) -> ResultsFile | Failure:
    """A results file's predictions and its notes (negative positions, odd confidences, ...), or why it
    cannot be read: a failure is cached like a success, so a 2 GB file typed by mistake is refused by
    one ``stat`` per rerun, not read on every slider move."""
    try:
        return read_results_file(path)
    except InputError as error:
        return Failure.of(error)


def json_bytes(name: str, data: bytes, fix: str = "upload the JSON file itself") -> dict:
    """Parse JSON bytes (an upload, a zip member) with the checks :func:`spotting.soccernet.read_json`
    makes on a path; ``fix`` is what the error tells to do about a file that is not JSON."""
    if len(data) > MAX_JSON_BYTES:
        raise InputError(name, f"{len(data) / 2**20:,.0f} MB, over the {MAX_JSON_BYTES // 2**20} MB limit for a JSON "
                         "file", "a SoccerNet labels or results file is a few MB: upload that file")
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head and head[:1] not in (b"{", b"["):
        raise InputError(name, "not a JSON file (it does not start with '{' or '[')", fix)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(name, "not a UTF-8 text file", fix) from None
    except json.JSONDecodeError as error:
        raise InputError(name, f"malformed JSON (line {error.lineno}, column {error.colno}: {error.msg})",
                         "re-export or re-download the file") from None
    except RecursionError:
        raise InputError(name, "JSON nested too deeply to be a SoccerNet file", "check the file") from None


def feature_names(game: Game) -> list[str]:
    """The features of a game folder: each ``1_<name>.npy`` present gives ``<name>.npy``. The usual
    SoccerNet name (ResNET_TF2_PCA512) comes first when present, then the others by name."""
    names = sorted(f[2:] for f in game.files if f.startswith("1_") and f.endswith(".npy"))
    return sorted(names, key=lambda n: n != DEFAULT_FEATURES)
