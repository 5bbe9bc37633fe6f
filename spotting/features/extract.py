"""One half of a video → ``<half>_<extractor>.npy``: frames, backbone in batches, (PCA), written atomically.

A run keeps the backbone's output of every finished batch in a side file in the game folder
(``.<half>_<backbone>.partial`` and its ``.json`` fingerprint: video, weights, time range, frame
rate), so a half interrupted at 60 % restarts there when the same command is run again. The frames
before that point are only decoded (not converted or resized), which costs little next to the
backbone. The side files are removed once the ``.npy`` is in place.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from spotting.errors import InputError
from spotting.features import frames as frame_io
from spotting.features.extractors import DEFAULT_EXTRACTOR, build_backbone, parse_extractor
from spotting.features.pca import Projection, load_projection

Progress = Callable[[int, int], None]
CPU_BATCH, ACCELERATOR_BATCH = 16, 64  # frames per backbone call (SoccerNet's script used 64 on a GPU)
FORMAT = "action-spotting-studio/partial-features-1"


@dataclass(frozen=True)
class ExtractionResult:
    path: Path  # the written .npy
    frames: int  # rows (feature frames at 2 fps)
    dim: int
    seconds: float  # wall time of this run
    computed: int  # frames computed in this run (frames - computed came from an interrupted run)
    device: str

    @property
    def frames_per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else 0.0


def output_name(extractor: str, projection: Projection | None) -> str:
    """``ResNET_TF2_PCA512`` / ``EfficientNetLite0`` / ``EfficientNetLite0_PCA256`` (no ``.npy``)."""
    backbone, _ = parse_extractor(extractor)
    return backbone if projection is None else f"{backbone}_PCA{projection.output_dim}"


def half_range(half: int, start: float | None = None, end: float | None = None,
               split_at: float | None = None) -> tuple[float | None, float | None]:
    """``(start, duration)`` in seconds for FrameCV from ``--start/--end`` or ``--split-at``."""
    if half not in (1, 2):
        raise InputError(None, f"half {half!r} is not 1 or 2", "pass --half 1 or --half 2")
    if split_at is not None:
        if start is not None or end is not None:
            raise InputError(None, "--split-at cannot be combined with --start/--end", "use one or the other")
        if split_at <= 0:
            raise InputError(None, f"--split-at {split_at:g} s is not after the start",
                             "give the second half's start in seconds")
        return (0.0, split_at) if half == 1 else (split_at, None)
    if start is not None and start < 0:
        raise InputError(None, f"--start {start:g} s is negative", "give seconds from the video's start")
    if end is not None and end <= (start or 0.0):
        raise InputError(None, f"--end {end:g} s is not after --start {start or 0:g} s", "check the time range")
    if end is None:
        return start, None
    return (start or 0.0), end - (start or 0.0)


def _resolve_projection(extractor: str, dim: int, pca: str | Path | Projection | None,
                        pca_mean: str | Path | None) -> Projection | None:
    _, wanted = parse_extractor(extractor)
    if pca is None and pca_mean is not None:
        raise InputError(pca_mean, "a PCA mean was given without its PCA", "pass --pca pca_512_TF2.pkl as well")
    if pca is None:
        if wanted is not None:
            hint = ("pass SoccerNet's --pca pca_512_TF2.pkl --pca-mean average_512_TF2.pkl (README: 'Your own video')"
                    if extractor.startswith("ResNET_TF2") else "fit one with python -m spotting.features fit-pca")
            raise InputError(None, f"the {extractor} extractor needs a PCA", hint)
        return None
    projection = pca if isinstance(pca, Projection) else load_projection(pca, pca_mean)
    where = projection.source or "--pca"
    if projection.input_dim != dim:
        raise InputError(where, f"PCA expects {projection.input_dim}-d features, the backbone gives {dim}-d",
                         "pass the PCA fitted on this backbone's features")
    if wanted is not None and projection.output_dim != wanted:
        raise InputError(where, f"PCA gives {projection.output_dim} dimensions, {extractor} needs {wanted}",
                         "pass the matching PCA or change --extractor")
    return projection


def _fingerprint(info: frame_io.VideoInfo, backbone, selection: frame_io.Selection) -> dict:
    stat = info.path.stat()
    return {"format": FORMAT, "video": str(info.path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "backbone": backbone.name, "dim": backbone.dim, "weights": backbone.identity,
            "start": selection.start, "duration": selection.duration, "rate": selection.rate,
            "video_fps": selection.video_fps}


class _Partial:
    """Append-only float32 rows + a JSON fingerprint; rows of a run with other settings are dropped."""

    def __init__(self, game_dir: Path, half: int, backbone_name: str, dim: int) -> None:
        self.half = half
        self.rows_path = game_dir / f".{half}_{backbone_name}.partial"
        self.meta_path = game_dir / f".{half}_{backbone_name}.partial.json"
        self.lock_path = game_dir / f".{half}_{backbone_name}.lock"
        self.row_bytes = dim * 4
        self.dim = dim

    def resume(self, fingerprint: dict) -> int:
        """Rows kept from an earlier run with the same fingerprint (0 when none); a torn last row is cut."""
        try:
            saved = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            saved = None
        if saved != fingerprint or not self.rows_path.is_file() or fingerprint["weights"].startswith("random:"):
            self.start(fingerprint)
            return 0
        rows = self.rows_path.stat().st_size // self.row_bytes
        os.truncate(self.rows_path, rows * self.row_bytes)
        return rows

    def start(self, fingerprint: dict) -> None:
        self.rows_path.write_bytes(b"")
        self.meta_path.write_text(json.dumps(fingerprint))

    def append(self, rows: np.ndarray) -> None:
        with open(self.rows_path, "ab") as handle:
            handle.write(np.ascontiguousarray(rows, dtype=np.float32).tobytes())
            handle.flush()
            os.fsync(handle.fileno())

    def read(self) -> np.ndarray:
        return np.fromfile(self.rows_path, dtype=np.float32).reshape(-1, self.dim)

    def remove(self) -> None:
        for path in (self.rows_path, self.meta_path):
            path.unlink(missing_ok=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """One run per half and backbone at a time: a second one (another terminal, another app
        session) would interleave its rows with the first's."""
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform
            yield
            return
        with open(self.lock_path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise InputError(self.rows_path.parent, f"half {self.half} is being extracted by another process",
                                 "wait for it to finish (or stop it) before starting this one") from None
            try:
                yield
            finally:
                self.lock_path.unlink(missing_ok=True)


def _batches(reader: frame_io.FrameReader, batch_size: int) -> Iterator[np.ndarray]:
    """Stacked frames from a decoding thread (OpenCV releases the GIL), two batches ahead."""
    out: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            batch = []
            for _, frame in reader:
                if frame is None:
                    continue
                batch.append(frame)
                if len(batch) == batch_size:
                    if not put(np.stack(batch)):
                        return
                    batch = []
            if batch:
                put(np.stack(batch))
            put(done)
        except BaseException as error:  # handed to the consumer
            put(error)

    thread = threading.Thread(target=produce, daemon=True, name="frame-decoder")
    thread.start()
    try:
        while True:
            item = out.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _write_npy(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Plan:
    """Everything checked before a model is loaded: the video, each half's range and target file."""

    info: frame_io.VideoInfo
    backbone: str  # e.g. "ResNET_TF2"
    projection: Projection | None
    ranges: dict[int, tuple[float | None, float | None]]  # half → (start, duration) for FrameCV
    targets: dict[int, Path]  # half → <game_dir>/<half>_<name>.npy


def plan(video: str | Path, game_dir: str | Path, halves: tuple[int, ...] = (1,), extractor: str = DEFAULT_EXTRACTOR, *,
         start: float | None = None, end: float | None = None, split_at: float | None = None,
         pca: str | Path | Projection | None = None, pca_mean: str | Path | None = None, force: bool = False) -> Plan:
    """Check the request (video decodable, halves, time range, PCA, no file overwritten without
    ``force``) in well under a second; :class:`InputError` names the file and the fix."""
    from spotting.features.extractors import BACKBONES

    ranges = {half: half_range(half, start, end, split_at) for half in halves}
    info = frame_io.probe(video)
    for first, _ in ranges.values():
        if first is not None and first >= info.duration_s:
            raise InputError(info.path, f"starts at {first:g} s but the video lasts {info.duration_s:g} s",
                             "check --start/--split-at")
    backbone, _ = parse_extractor(extractor)
    projection = _resolve_projection(extractor, BACKBONES[backbone].dim, pca, pca_mean)
    name = output_name(extractor, projection)
    targets = {half: Path(game_dir) / f"{half}_{name}.npy" for half in halves}
    for target in targets.values():
        if target.exists() and not force:
            raise InputError(target, "already exists", "pass --force to overwrite it")
    return Plan(info, backbone, projection, ranges, targets)


def extract_half(video: str | Path, game_dir: str | Path, half: int, extractor: str = DEFAULT_EXTRACTOR, *,
                 start: float | None = None, end: float | None = None, split_at: float | None = None,
                 pca: str | Path | Projection | None = None, pca_mean: str | Path | None = None,
                 weights: str | Path | None = None, device: str = "auto", batch_size: int | None = None,
                 force: bool = False, backbone=None, progress: Progress | None = None,
                 show_progress: bool = False, log: Callable[[str], None] | None = None) -> ExtractionResult:
    """Features of one half of ``video`` → ``game_dir/<half>_<name>.npy`` (float32, ``(frames, dim)``).

    ``start``/``end`` (seconds) or ``split_at`` (the second half's start in a whole-match video) pick
    the half's frames. ``progress(done, total)`` counts feature frames; ``backbone`` reuses an already
    built one (the app keeps one loaded). Raises :class:`InputError` on bad input, before any work."""
    checked = plan(video, game_dir, (half,), extractor, start=start, end=end, split_at=split_at,
                   pca=pca, pca_mean=pca_mean, force=force)
    if backbone is None:
        backbone = build_backbone(checked.backbone, weights, device)
    return run(checked, half, backbone, batch_size=batch_size, progress=progress, show_progress=show_progress, log=log)


def run(checked: Plan, half: int, backbone, batch_size: int | None = None, progress: Progress | None = None,
        show_progress: bool = False, log: Callable[[str], None] | None = None) -> ExtractionResult:
    """Extract one half of a checked :class:`Plan` with a built backbone."""
    started = time.perf_counter()
    info, out, projection = checked.info, checked.targets[half], checked.projection
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = _Partial(out.parent, half, backbone.name, backbone.dim)
    with partial.locked():
        rows, computed = _backbone_rows(checked, half, backbone, partial, batch_size, progress, show_progress,
                                        log or (lambda line: print(line, file=sys.stderr)))
        if rows.shape[0] == 0:
            raise InputError(info.path, "no frame in the requested time range", "check --start/--end/--split-at")
        features = projection.transform(rows) if projection is not None else rows
        if not np.isfinite(features).all():
            raise InputError(info.path, "the backbone gave NaN or Inf features", "check --weights")
        _write_npy(out, features.astype(np.float32, copy=False))
        partial.remove()
    return ExtractionResult(out, int(features.shape[0]), int(features.shape[1]), time.perf_counter() - started,
                            computed, str(backbone.device))


def _backbone_rows(checked: Plan, half: int, backbone, partial: _Partial, batch_size: int | None,
                   progress: Progress | None, show_progress: bool, say: Callable[[str], None]) -> tuple[np.ndarray, int]:
    """The backbone's ``(frames, dim)`` output for the half (resumed from ``partial``), and how many
    frames this call computed."""
    info, out = checked.info, checked.targets[half]
    selection = frame_io.Selection(info.fps, *checked.ranges[half])
    size = batch_size or (CPU_BATCH if backbone.device.type == "cpu" else ACCELERATOR_BATCH)
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False  # float32 as SoccerNet's run
    computed = 0
    try:
        while True:
            done = partial.resume(_fingerprint(info, backbone, selection))
            total = max(selection.count(frame_io.expected_frames(info)), done)
            if done:
                say(f"{out.name}: resuming at frame {done}/{total} ({100 * done / max(total, 1):.0f} %)")
            reader = frame_io.FrameReader(info, selection, skip=done)
            bar = _progress_bar(total, done, f"half {half} · {backbone.name} ({backbone.device.type})", show_progress)
            try:
                for batch in _batches(reader, size):
                    partial.append(backbone(batch))
                    done += batch.shape[0]
                    computed += batch.shape[0]
                    total = max(total, done)
                    if bar is not None:
                        bar.total = total
                        bar.update(batch.shape[0])
                    if progress is not None:
                        progress(done, total)
            finally:
                if bar is not None:
                    bar.close()
            if reader.complete:
                break
            video_fps = frame_io.corrected_fps(info, reader.decoded)  # FrameCV reads such a file again at this rate
            say(f"{info.path}: {reader.decoded} frames decoded, {frame_io.expected_frames(info)} expected — reading "
                f"again at {video_fps:.3f} fps as SoccerNet's FrameCV does")
            selection = replace(selection, video_fps=video_fps)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32
    rows = partial.read()
    if rows.shape[0] != reader.kept:
        raise InputError(partial.rows_path, f"holds {rows.shape[0]} frames, the video gives {reader.kept}",
                         "delete this side file and run again")
    return rows, computed


def _progress_bar(total: int, initial: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="frame", dynamic_ncols=True, smoothing=0.1)
