"""Features of a user's own video for the app: a cache keyed by the video's content, and extraction
jobs that run beside the page.

**The cache.** Each request (video, half, time range, extractor and its PCA/weights) has one
SoccerNet-style game folder under ``$STUDIO_CACHE_DIR/your-video/`` (default
``~/.cache/action-spotting-studio/your-video/``)::

    <sha256 of the video, 16 hex>/<range>[-<setup>]/1_EfficientNetLite0.npy   (and/or 2_...)
                                                    1_video.mp4 -> the video  (a link: the player plays it)
                                                    games.json                (the half's length)

``<range>`` is ``half1`` (the file holds one half), ``half2-120-2820s`` (``--start/--end``) or
``split-2950s`` (a whole match: both halves go into that one folder); ``<setup>`` hashes the PCA and
weight files when some are given. The folder is what ``python -m spotting.features --out`` writes,
so the CLI can reuse it and ``spotting.infer --game-dir`` reads it. The video is recognised by the
**sha256 of its whole content, streamed** in 1 MiB blocks (about a second per GB), not by its name,
size or modification time: a renamed or copied file is the same video, and an edited one is not.
The digest is computed once per (path, size, mtime) in a server process (``st.cache_data``), so a
rerun is instant; a partial hash would be faster still, but two cuts of one recording can share
their first and last megabytes.

**The jobs.** An extraction of a 45-minute half takes minutes (EfficientNet-Lite0) to hours
(ResNet152) on a CPU, longer than a page run should block: it runs in a thread, one per target
file and per server (every session asking for the same video sees the same job), reporting
frames done and total; the page polls it (``spotting.ui.your_video``). Stopping a job keeps what is
done (``spotting.features.extract`` resumes an interrupted half). Backbones are built once per
process and reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from spotting import features as feature_lib
from spotting.errors import InputError
from spotting.ui.paths import studio_cache_dir
from spotting.ui.sources import stamp
from spotting.ui.uploads import upload_name

CACHE_SUBDIR = "your-video"
BLOCK = 1 << 20  # bytes hashed per read
# What the player can play from a link in the game folder, by the video's suffix (soccernet.VIDEO_NAMES);
# an .mkv is remuxed to .mp4 by spotting.ui.video on first play. Other containers play without video.
LINK_NAMES = {".mp4": "video.mp4", ".m4v": "video.mp4", ".mov": "video.mp4", ".webm": "video.webm",
              ".mkv": "720p.mkv"}


def features_cache_dir() -> Path:
    """``your-video/`` in the app's cache (``$STUDIO_CACHE_DIR`` or ``~/.cache/action-spotting-studio``)."""
    return studio_cache_dir() / CACHE_SUBDIR


def file_digest(path: str | Path) -> str:
    """sha256 (hex) of a file's content, computed once per (path, size, mtime) in this process."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        raise InputError(path, "video not found", "check the path") from None
    return _file_digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@st.cache_data(show_spinner="Reading the file to recognise it (once per file)…", max_entries=256)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(BLOCK):
                digest.update(block)
    except OSError as error:
        raise upload_name(InputError(path, f"cannot be read ({error.strerror or type(error).__name__})",
                                     "check the file's permissions")) from None
    return digest.hexdigest()


@dataclass(frozen=True)
class VideoRequest:
    """Which features of which video: the same fields as ``python -m spotting.features``."""

    video: Path
    half: int
    extractor: str
    start: float | None = None
    end: float | None = None
    split_at: float | None = None
    pca: Path | None = None
    pca_mean: Path | None = None
    weights: Path | None = None

    @property
    def features_name(self) -> str:
        """``<name>`` of ``1_<name>.npy``: the extractor's name (a ``_PCA<dim>`` one needs that PCA)."""
        return self.extractor

    @property
    def feature_dim(self) -> int:
        """The features' dimension, known before any extraction (the PCA's, else the backbone's)."""
        backbone, dim = feature_lib.parse_extractor(self.extractor)
        return dim or feature_lib.BACKBONES[backbone].dim

    def range_tag(self) -> str:
        """The game folder's name for this half and range (see the module docstring)."""
        if self.split_at is not None:
            return f"split-{self.split_at:g}s"
        if self.start is None and self.end is None:
            return f"half{self.half}"
        return f"half{self.half}-{self.start or 0:g}-{'end' if self.end is None else f'{self.end:g}'}s"

    def video_offset_s(self) -> float | None:
        """Where the half starts in the video; None when the video is the half (no range given)."""
        if self.split_at is not None:
            return 0.0 if self.half == 1 else float(self.split_at)
        if self.start is None and self.end is None:
            return None
        return float(self.start or 0.0)


def game_dir(request: VideoRequest) -> Path:
    """The request's game folder in the cache (see the module docstring); hashes the files it names."""
    setup = [f"{name}={file_digest(p)}" for name, p in (("pca", request.pca), ("mean", request.pca_mean),
                                                        ("weights", request.weights)) if p is not None]
    tag = request.range_tag()
    if setup:
        tag += "-" + hashlib.sha256("|".join(setup).encode()).hexdigest()[:8]
    return features_cache_dir() / file_digest(request.video)[:16] / tag


def target(request: VideoRequest) -> Path:
    """The ``<half>_<name>.npy`` the request gives."""
    return game_dir(request) / f"{request.half}_{request.features_name}.npy"


def check(request: VideoRequest) -> feature_lib.Plan:
    """Every cheap check of the CLI (video decodable, time range, extractor, PCA) in well under a
    second, before a thread starts; :class:`InputError` names the file (an upload by its name)."""
    try:
        return feature_lib.plan(request.video, game_dir(request), (request.half,), request.extractor,
                                start=request.start, end=request.end, split_at=request.split_at,
                                pca=request.pca, pca_mean=request.pca_mean, force=True)
    except InputError as error:
        raise upload_name(error) from None


def prepare_folder(request: VideoRequest, plan: feature_lib.Plan) -> None:
    """Link the video into the game folder (:func:`link_video`) and write the half's length in
    ``games.json`` (a whole-match video is longer than the half it links: the page reads the length there)."""
    folder = game_dir(request)
    folder.mkdir(parents=True, exist_ok=True)
    link_video(request)
    start, duration = plan.ranges[request.half]
    length = (plan.info.duration_s - (start or 0.0)) if duration is None else \
        min(duration, plan.info.duration_s - (start or 0.0))
    metadata = folder / "games.json"
    try:
        rows = json.loads(metadata.read_text())
    except (OSError, ValueError):
        rows = [{"game": folder.name, "half_duration_s": {}}]
    rows[0]["half_duration_s"][str(request.half)] = round(length, 3)
    rows[0]["video"] = request.video.name
    temporary = folder / f".games.json.{os.getpid()}.{threading.get_ident()}"
    temporary.write_text(json.dumps(rows))
    os.replace(temporary, metadata)


def link_video(request: VideoRequest) -> None:
    """``<half>_video.mp4`` (``.webm``, ``720p.mkv``) in the game folder → the video, where the player finds
    it; re-pointed on every call, atomically: an upload's copy lives only as long as its session. A
    container browsers cannot play (``.avi``) gets no link: the page then works without video."""
    folder = game_dir(request)
    name = LINK_NAMES.get(request.video.suffix.lower())
    if name is None or not folder.is_dir():
        return
    link = folder / f"{request.half}_{name}"
    if link.is_symlink() and link.resolve() == request.video.resolve():
        return  # already there: no write on every rerun of the page
    temporary = folder / f".{link.name}.{os.getpid()}.{threading.get_ident()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(request.video.resolve())
    os.replace(temporary, link)


class Stopped(Exception):
    """Raised from the progress callback when the user stops a job (the finished batches are kept)."""


@dataclass
class Job:
    """One extraction running (or finished) in a thread; read by the page, written by the thread."""

    target: Path
    video_name: str
    done: int = 0
    total: int = 0
    first: tuple[float, int] | None = None  # (time, frames done) at the first report: rates exclude model loading
    last_at: float = 0.0
    error: InputError | None = None
    finished: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def progress(self, done: int, total: int) -> None:
        """``spotting.features.run``'s callback (after each batch); raises :class:`Stopped` when asked to."""
        if self.stop.is_set():
            raise Stopped
        now = time.monotonic()
        if self.first is None:
            self.first = (now, done)
        self.done, self.total, self.last_at = done, total, now

    @property
    def fraction(self) -> float:
        """Share of the half's frames done (0 before the first report)."""
        return min(1.0, self.done / self.total) if self.total else 0.0

    @property
    def frames_per_second(self) -> float:
        """Feature frames a second between the first and the latest report (0 before two reports)."""
        if self.first is None or self.last_at <= self.first[0]:
            return 0.0
        return (self.done - self.first[1]) / (self.last_at - self.first[0])

    @property
    def seconds_left(self) -> float | None:
        """Time left at the current rate; None before two reports."""
        rate = self.frames_per_second
        return (self.total - self.done) / rate if rate > 0 else None


@st.cache_resource(show_spinner=False)
def _registry() -> tuple[dict[str, Job], dict[tuple, object], threading.Lock]:
    """Jobs by target file and built backbones, shared by every session of this server."""
    return {}, {}, threading.Lock()


def job(request: VideoRequest) -> Job | None:
    """The request's job (running, failed or stopped), None when none was started in this process."""
    jobs, _, lock = _registry()
    with lock:
        return jobs.get(str(target(request)))


def start(request: VideoRequest, display_name: str) -> Job:
    """Start extracting the request's half in a thread (the running job when there is one).
    :class:`InputError` at once for bad input (see :func:`check`)."""
    plan = check(request)
    prepare_folder(request, plan)
    jobs, backbones, lock = _registry()
    key = str(target(request))
    with lock:
        running = jobs.get(key)
        if running is not None and not running.finished:
            return running
        jobs[key] = new = Job(Path(key), display_name)
    threading.Thread(target=_work, args=(new, request, plan, backbones, lock), daemon=True,
                     name=f"features-{Path(key).name}").start()
    return new


def _work(job: Job, request: VideoRequest, plan: feature_lib.Plan, backbones: dict, lock: threading.Lock) -> None:
    """The thread: build (or reuse) the backbone, extract, record the outcome on ``job``."""
    try:
        key = (plan.backbone, None if request.weights is None else str(request.weights))
        with lock:
            backbone = backbones.get(key)
        if backbone is None:
            backbone = feature_lib.build_backbone(plan.backbone, request.weights, "auto")
            with lock:
                backbones[key] = backbone
        feature_lib.run(plan, request.half, backbone, progress=job.progress, log=lambda line: None)
    except Stopped:
        job.error = InputError(request.video.name, f"extraction of half {request.half} stopped at "
                               f"{job.done}/{job.total} frames", "press Extract to go on from there")
    except InputError as error:
        job.error = upload_name(error)
    except Exception as error:  # a backbone or decoder failure: one line for the page, not a dead thread
        job.error = InputError(request.video.name, f"extraction failed ({type(error).__name__}: {str(error)[:120]})",
                               "try python -m spotting.features on this video for the full report")
    finally:
        job.finished = True


def stop(request: VideoRequest) -> None:
    """Ask the request's running job to stop after its current batch."""
    running = job(request)
    if running is not None:
        running.stop.set()


def checkpoint_features(checkpoint: str | Path) -> tuple[str, int]:
    """``(features name without .npy, dimension)`` a checkpoint was trained on (read once per file version)."""
    return _checkpoint_features(str(checkpoint), stamp(checkpoint))


@st.cache_data(show_spinner=False, max_entries=16)
def _checkpoint_features(checkpoint: str, mtime: float) -> tuple[str, int]:
    from spotting.checkpoint import load_checkpoint

    try:
        loaded = load_checkpoint(checkpoint, device="cpu")
    except InputError as error:
        raise upload_name(error) from None
    except Exception as error:  # as spotting.ui.scoring: one line naming the file
        raise upload_name(InputError(checkpoint, f"not a usable checkpoint ({type(error).__name__})",
                                     "the file is damaged or from another model version")) from None
    return loaded.features.removesuffix(".npy"), int(loaded.feature_dim)
