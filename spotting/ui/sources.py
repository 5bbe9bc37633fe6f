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
from dataclasses import dataclass, replace
from pathlib import Path

import streamlit as st

from spotting import demo
from spotting.demo import DEMO_FEATURES
from spotting.errors import InputError
from spotting.results import RESULTS_FILE, ResultsFile, parse_results_file, read_results_file
from spotting.selection import find_games
from spotting.soccernet import DEFAULT_FEATURES, HALVES, LABELS_FILE, MAX_JSON_BYTES, Annotations, Game, game_title
from spotting.specs import SOCCERNET_V2, Specifications
from spotting.ui.paths import default_soccernet_root, inside_data_roots, predictions_root, restricted  # noqa: F401 (the pages ask sources for the root)
from spotting.ui.task import game_specifications, game_timing



@dataclass(frozen=True)
class GameData:
    """The game the page shows."""

    game: Game
    title: str
    labels: Annotations | None  # None when the game has no label file
    half_durations_s: dict[int, float]  # seconds on the time axis (the features at ``framerate``, or known lengths)
    feature_halves: tuple[int, ...]  # halves whose features exist (a model can run on them)
    url_local: str = ""  # the game's path under a SoccerNet root ("" for the demo and uploads): UrlLocal in exports
    spec: Specifications = SOCCERNET_V2  # the game's class set (lanes, colours, metrics, exports)
    feature_frames: tuple[tuple[int, int], ...] = ()  # (half, frames) of each half's features
    framerate: float = 2.0  # frames per second the features are drawn with (spotting.ui.task.game_timing)
    rate_note: str = ""  # why the features are not drawn at the picked rate, when the data says so
    rate_warnings: tuple[str, ...] = ()  # a half over 60 minutes at the rate with nothing else known, ...
    video_offsets: tuple[tuple[int, float], ...] = ()  # (half, where it starts in its video, s) when a video holds more


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


def allowed_predictions_root(soccernet_root: str) -> Path | None:
    """:func:`predictions_root`, or None when the app is restricted and it lies outside the data roots
    (beside a typed SoccerNet root, it is a folder nobody chose to serve)."""
    found = predictions_root(soccernet_root)
    if found is not None and restricted() and not inside_data_roots(found):
        return None
    return found


@st.cache_data(ttl=60, show_spinner="Looking for games…")
def list_games(root: str, split: str | None, features: str) -> list[Game]:
    """The games under ``root``, with the label file of the class set recognised there (Labels-ball.json...)."""
    spec = root_specifications(root)
    return find_games(root, split=split, features=features, labels_file=spec.labels_file, dataset=spec.dataset)


@st.cache_data(ttl=60, show_spinner=False)
def root_specifications(root: str) -> Specifications:
    """The class set of a SoccerNet root (or a game folder), from its label files' names."""
    return game_specifications(root)


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


def results_at(path: Path, game: Game, spec: Specifications = SOCCERNET_V2) -> ResultsFile:
    """The game's predictions from a typed path: a results file, a folder (``<folder>/<game>/results_spotting.json``
    or ``<folder>/results_spotting.json``) or a zip as SoccerNet's baselines write it (``<game>/results_spotting.json``
    inside, possibly under one top folder: :class:`spotting.datatree.Tree`). InputError naming the path when
    none is there."""
    if path.is_dir() and not (path / game.name / RESULTS_FILE).is_file():
        if (path / RESULTS_FILE).is_file():
            return results_file(str(path / RESULTS_FILE), spec)
        raise InputError(path, f"no {game.name}/{RESULTS_FILE} in this folder",
                         "give a model folder holding <league>/<season>/<game>/results_spotting.json, or the file")
    if path.is_dir():
        return results_file(str(path / game.name / RESULTS_FILE), spec)
    if path.suffix.lower() == ".zip" and path.is_file():
        result = _load_zipped_results(str(path), _file_stamp(str(path)), game.name, spec)
        if isinstance(result, Failure):
            raise result.error()
        return result
    return results_file(str(path), spec)


def _file_stamp(path: str) -> tuple[int, int]:
    try:
        info = os.stat(path)
        return info.st_size, info.st_mtime_ns
    except OSError:
        return -1, 0  # the reader names the problem


@st.cache_data(show_spinner=False, max_entries=64)
def _load_zipped_results(path: str, stamp: tuple, game_name: str,
                         spec: Specifications = SOCCERNET_V2) -> ResultsFile | Failure:
    """``<game>/results_spotting.json`` of a zip (read as one member, size-capped), or why it cannot be."""
    from spotting.datatree import Tree

    relative = f"{game_name}/{RESULTS_FILE}"
    try:
        tree = Tree(path)
        if not tree.has(relative):
            raise InputError(path, f"no {relative} in this zip", "zip the results of this game, or give the file")
        return parse_results_file(tree.read_json(relative), tree.where(relative), framerate=spec.framerate,
                                  classes=spec)
    except InputError as error:
        return Failure.of(error)


def load_game(game: Game, title: str, url_local: str = "", spec: Specifications | None = None) -> GameData:
    """Labels and feature shapes of a game folder, read again when one of its files changed. The class
    set is ``spec`` (a SoccerNet root's) or the one of the game folder's own label files."""
    spec = spec or game_specifications(game.directory)
    if game.labels_file != spec.labels_file and not game.has_labels:
        game = Game(game.directory, game.name, game.features, game.split, game.files, spec.labels_file)
    return _load_game(game, title, url_local, game_stamps(game), spec)


@st.cache_data(show_spinner="Reading the game…", max_entries=32)
def _load_game(game: Game, title: str, url_local: str, stamps: tuple, spec: Specifications) -> GameData:
    """Labels and feature shapes of a game folder (features are memory-mapped, only shapes read here); the
    halves drawn at the features' rate as the data tells it (:func:`spotting.ui.task.game_timing`).

    ``stamps`` (file mtimes, see :func:`game_stamps`) is only part of the cache key: edited files are re-read.
    """
    labels = checked_labels(game.labels_path, lambda: game.read_labels(classes=spec)) if game.has_labels else None
    frames = {}
    for half in HALVES:
        if game.features_path(half).is_file():
            frames[half] = int(game.load_features(half).shape[0])
    timing = game_timing(game, labels, frames, default_rate=spec.framerate)
    return GameData(game, title, labels, timing.lengths_s, tuple(sorted(frames)), url_local, spec,
                    tuple(sorted(frames.items())), timing.framerate, timing.note, timing.warnings)


def with_model_rate(data: GameData, model_rate: float, picked: bool = False) -> GameData:
    """``data`` drawn at a model's feature rate (or the rate the user picked): its half lengths again.
    Raises :class:`InputError` (naming the file, both rates and the fix) when the data contradicts the
    model's rate; a picked rate the data contradicts is replaced by the features' own, as on loading."""
    if not data.feature_frames or model_rate == data.framerate:
        return data
    frames = dict(data.feature_frames)
    if picked:
        timing = game_timing(data.game, data.labels, frames, picked_rate=model_rate)
    else:
        timing = game_timing(data.game, data.labels, frames, model_rate=model_rate)
    return replace(data, half_durations_s=timing.lengths_s, framerate=timing.framerate, rate_note=timing.note,
                   rate_warnings=timing.warnings)


def checked_labels(name: str | Path, read: Callable[[], Annotations]) -> Annotations:
    """``read()``, with what the labels reader does not expect (a list where a label should be, ...)
    turned into an :class:`InputError` naming the file instead of a traceback."""
    try:
        return read()
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, RecursionError) as error:
        raise InputError(name, f"not a SoccerNet label file ({type(error).__name__} while reading its "
                         "annotations)", "check the file") from None


def game_stamps(game: Game) -> tuple:
    return tuple(stamp(p) for p in (game.labels_path, *(game.features_path(h) for h in HALVES)))


def soccernet_game(game: Game, root: str | None = None) -> GameData:
    """A game of a SoccerNet root, in the class set recognised in ``root`` (the game folder's own without one)."""
    return load_game(game, game_title(game.name), game.name, root_specifications(root) if root else None)


def results_file(path: str, spec: Specifications = SOCCERNET_V2) -> ResultsFile:
    """A results file read once per (path, size, mtime), failures included, its labels in the class set
    ``spec``; InputError when unreadable."""
    result = load_results_file(path, _file_stamp(path), spec)
    if isinstance(result, Failure):
        raise result.error()
    return result


@st.cache_data(show_spinner=False, max_entries=64)
def load_results_file(path: str, stamp: tuple | float, spec: Specifications = SOCCERNET_V2) -> ResultsFile | Failure:
    """A results file's predictions and its notes (negative positions, odd confidences, ...), or why it
    cannot be read: a failure is cached like a success, so a 2 GB file typed by mistake is refused by
    one ``stat`` per rerun, not read on every slider move."""
    try:
        return read_results_file(path, framerate=spec.framerate, classes=spec)
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
