"""Files the user uploads: this session's upload folder, games and results files made from uploads.

Uploads are written to a per-session folder (removed when the session ends, size-capped), under
their content hash so the same bytes give the same path (and cache hits); errors name the uploaded
file, never its temporary copy (:func:`upload_name`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import streamlit as st

from spotting.errors import InputError
from spotting.results import ResultsFile, parse_results_file
from spotting.soccernet import LABELS_FILE, Game, parse_labels
from spotting.specs import SOCCERNET_V2, Specifications, recognise
from spotting.ui.paths import APP_TEMP
from spotting.ui.sources import Failure, GameData, checked_labels, json_bytes, load_game

UPLOAD_FEATURES = "uploaded.npy"
UPLOAD_ROOT = APP_TEMP / "uploads"  # one sub-folder per session: <pid>-<random>/
MAX_SESSION_UPLOAD_BYTES = 2 * 1024**3  # all files one session uploaded (each is also capped by server.maxUploadSize)

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
        parsed = json_bytes(name, data)
        items = parsed.get("annotations") if isinstance(parsed, dict) else None
        spec = recognise({str(a.get("label")): 1 for a in items if isinstance(a, dict)}
                         if isinstance(items, list) else {}) or SOCCERNET_V2  # the upload's class set
        checked_labels(name, lambda: parse_labels(parsed, name, classes=spec))  # errors name the upload
        _write_upload(name, data, directory / (spec.labels_file or LABELS_FILE))
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    files = tuple(sorted(p.name for p in directory.iterdir()))
    labels_file = next((f for f in files if f.startswith("Labels") and f.endswith(".json")), LABELS_FILE)
    game = Game(directory, "uploaded game", features=UPLOAD_FEATURES, files=files, labels_file=labels_file)
    return load_game(game, "Uploaded game")


def results_upload(name: str, data: bytes, spec: Specifications = SOCCERNET_V2) -> ResultsFile:
    """An uploaded ``results_spotting.json`` (parsed once per content, labels of the class set ``spec``);
    InputError naming the upload."""
    result = _load_results_upload(name, data, spec)
    if isinstance(result, Failure):
        raise result.error()
    return result


@st.cache_data(show_spinner=False, max_entries=64)
def _load_results_upload(name: str, data: bytes, spec: Specifications = SOCCERNET_V2) -> ResultsFile | Failure:
    try:
        return parse_results_file(json_bytes(name, data), name, framerate=spec.framerate, classes=spec)
    except InputError as error:
        return Failure.of(error)
