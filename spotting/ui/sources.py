"""Where the page's game and predictions come from: the demo, a SoccerNet folder, uploads, checkpoints.

Everything slow is cached here: the model with ``st.cache_resource`` (keyed by checkpoint path and
mtime), features, labels, scores and detected events with ``st.cache_data`` (keyed by paths, mtimes
and the NMS window), so a threshold change only re-filters cached events. A file that cannot be read
is cached as such too: a bad path typed once is not re-read on every slider move.

Every file from outside is checked where it enters here: JSON size and first bytes (uploads as typed
paths), features and model outputs finite, uploads written to a per-session folder (removed when the
session ends, size-capped) and errors naming the uploaded file, never its temporary copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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
from spotting.soccernet import (HALVES, LABELS_FILE, MAX_JSON_BYTES, Annotations, Game, find_games, game_title,
                                parse_labels, read_json)
from spotting.ui.paths import APP_TEMP

FRAMERATE = 2.0
UPLOAD_FEATURES = "uploaded.npy"
REPO_ROOT = Path(__file__).resolve().parents[2]
UPLOAD_ROOT = APP_TEMP / "uploads"  # one sub-folder per session: <pid>-<random>/
MAX_SESSION_UPLOAD_BYTES = 2 * 1024**3  # all files one session uploaded (each is also capped by server.maxUploadSize)
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


@st.cache_data(show_spinner="Reading the game…", max_entries=32)
def load_game(game: Game, title: str, url_local: str, stamps: tuple) -> GameData:
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
    return load_game(game, game_title(game.name), game.name, game_stamps(game))


def results_file(path: str) -> ResultsFile:
    """A typed results path read once per (path, size, mtime), failures included; InputError when unreadable."""
    try:
        info = os.stat(path)
        key = (info.st_size, info.st_mtime_ns)
    except OSError:
        key = (-1, 0)  # read_json names the problem
    result = load_results_file(path, key)
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


def results_upload(name: str, data: bytes) -> ResultsFile:
    result = load_results_upload(name, data)
    if isinstance(result, Failure):
        raise result.error()
    return result


@st.cache_data(show_spinner=False, max_entries=64)
def load_results_upload(name: str, data: bytes) -> ResultsFile | Failure:
    try:
        return parse_results_file(_json_bytes(name, data), name)
    except InputError as error:
        return Failure.of(error)


def _json_bytes(name: str, data: bytes) -> dict:
    """Parse an uploaded JSON file with the checks :func:`spotting.soccernet.read_json` makes on a path."""
    if len(data) > MAX_JSON_BYTES:
        raise InputError(name, f"{len(data) / 2**20:,.0f} MB, over the {MAX_JSON_BYTES // 2**20} MB limit for a JSON "
                         "file", "a SoccerNet labels or results file is a few MB: upload that file")
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if head and head[:1] not in (b"{", b"["):
        raise InputError(name, "not a JSON file (it does not start with '{' or '[')", "upload the JSON file itself")
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError(name, "not a UTF-8 text file", "upload the JSON file itself") from None
    except json.JSONDecodeError as error:
        raise InputError(name, f"malformed JSON (line {error.lineno}, column {error.colno}: {error.msg})",
                         "re-export or re-download the file") from None
    except RecursionError:
        raise InputError(name, "JSON nested too deeply to be a SoccerNet file", "check the file") from None


# ----------------------------------------------------------------------------- uploads

_upload_names: dict[str, str] = {}  # temporary copy -> the name the user uploaded it under
_upload_names_lock = threading.Lock()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _remove_upload_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    with _upload_names_lock:
        for copy in [c for c in _upload_names if Path(c).is_relative_to(path)]:
            del _upload_names[copy]


@st.cache_resource(scope="session", on_release=_remove_upload_dir, show_spinner=False)
def _session_upload_dir() -> Path:
    """This session's upload folder, removed when the session ends (Streamlit calls ``on_release`` then).

    No thread watches it: folders left by a server that stopped without releasing them (their process
    is gone) are removed the next time a session creates its own.
    """
    UPLOAD_ROOT.mkdir(parents=True, exist_ok=True)
    for stale in UPLOAD_ROOT.iterdir():
        pid = stale.name.split("-", 1)[0]
        if stale.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=UPLOAD_ROOT))  # mode 0700


def session_upload_dir() -> Path:
    directory = _session_upload_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # removed from outside meanwhile: make it again
    return directory


def _write_upload(name: str, data: bytes, path: Path) -> Path:
    """Write one uploaded file into this session's folder, within the session's size cap."""
    if not path.is_file():
        folder = session_upload_dir()
        used = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
        if used + len(data) > MAX_SESSION_UPLOAD_BYTES:
            raise InputError(name, f"uploads of this session would exceed {MAX_SESSION_UPLOAD_BYTES // 2**20} MB",
                             "reload the page to start a new session, or use files on the server")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_bytes(data)
    with _upload_names_lock:
        _upload_names[str(path)] = Path(name).name
    return path


def save_upload(name: str, data: bytes, as_name: str | None = None) -> Path:
    """Write an upload in this session's folder, under its content hash (same bytes → same path, cache hits)."""
    digest = hashlib.sha1(data).hexdigest()[:16]
    return _write_upload(name, data, session_upload_dir() / digest / (as_name or Path(name).name))


def upload_name(error: InputError) -> InputError:
    """``error`` naming the uploaded file instead of its temporary copy (unchanged for other files)."""
    with _upload_names_lock:
        name = _upload_names.get(str(error.path)) if error.path is not None else None
    return error if name is None else InputError(name, error.problem, error.fix)


def uploaded_game(features: dict[int, tuple[str, bytes]], labels: tuple[str, bytes] | None) -> GameData:
    """A game folder assembled from uploaded files; errors name the uploaded file, not the temp copy."""
    digest = hashlib.sha1(b"".join(data for _, data in
                                   [*features.values(), *([labels] if labels else [])])).hexdigest()[:16]
    directory = session_upload_dir() / f"game-{digest}"
    for half, (name, data) in features.items():
        target = _write_upload(name, data, directory / f"{half}_{UPLOAD_FEATURES}")
        try:
            Game(directory, "upload", features=UPLOAD_FEATURES).load_features(half)
        except InputError as error:
            target.unlink(missing_ok=True)
            raise upload_name(error) from None
    if labels is not None:
        name, data = labels
        checked_labels(name, lambda: parse_labels(_json_bytes(name, data), name))  # errors name the upload
        _write_upload(name, data, directory / LABELS_FILE)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = tuple(sorted(p.name for p in directory.iterdir()))
    game = Game(directory, "uploaded game", features=UPLOAD_FEATURES, files=files)
    return load_game(game, "Uploaded game", "", game_stamps(game))


# ----------------------------------------------------------------------------- model predictions

@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def load_model(checkpoint: str, mtime: float):
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


def game_scores(checkpoint: str, mtime: float, game: Game, halves: tuple[int, ...],
                progress: Callable[[int, int], None] | None = None):
    """Run the checkpoint on the game's features → ``GameScores``, once per (checkpoint, game)."""
    from spotting.infer import infer_game

    store, lock = _scores_store()
    key = (checkpoint, mtime, game, halves)
    with lock:
        if key not in store:
            try:
                loaded = load_model(checkpoint, mtime)
                features = {half: float32_features(game, half, loaded.feature_dim) for half in halves}
                with np.errstate(invalid="ignore"):  # NaN outputs are refused by check_scores, naming the files
                    scores = infer_game(loaded, features, progress=progress)
            except InputError as error:
                raise upload_name(error) from None
            check_scores(scores, checkpoint, game)
            store[key] = scores
            while len(store) > MAX_SCORED_GAMES:
                store.pop(next(iter(store)))
        return store[key]


def float32_features(game: Game, half: int, dim: int) -> np.ndarray:
    """A half's features as the model takes them; values past float32's range (which would become
    ±Inf there, and NaN scores after) are refused naming the file, like non-finite values are."""
    with np.errstate(over="ignore"):  # overflow is what the check below reports
        features = np.array(game.load_features(half, dim=dim), dtype=np.float32)
    if not np.isfinite(features).all():
        raise upload_name(InputError(game.features_path(half), "values too large for 32-bit floats (|x| > 3.4e38): "
                                     "the model would see infinities", "check how the features were computed"))
    return features


def check_scores(scores, checkpoint: str, game: Game) -> None:
    """Refuse non-finite model outputs (NaN scores would silently give no events), naming the inputs."""
    for half, half_scores in scores.halves.items():
        if not (np.isfinite(half_scores.segmentation).all() and np.isfinite(half_scores.detection).all()):
            features = upload_name(InputError(game.features_path(half), "")).path
            model = upload_name(InputError(checkpoint, "")).path
            raise InputError(features, f"the outputs of {model.name} on these features are not finite",
                             "the features are far outside the range the model was trained on, or the "
                             "checkpoint is damaged")


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
