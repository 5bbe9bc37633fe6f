"""Write one synthetic game as a SoccerNet-style folder: features, labels and videos of both halves."""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spotting.errors import InputError
from spotting.soccernet import CLASSES, HALVES, LABELS_FILE, Annotations, Game, format_game_time, game_at
from spotting.synth.encoder import FEATURE_DIM, encode_frames
from spotting.synth.render import FEATURE_FPS, RENDER_FPS, Broadcast, WideCamera, plan_half
from spotting.synth.scenes import KITS, H, SceneBook, W
from spotting.synth.timeline import sample_half_seconds, sample_timeline

DEFAULT_FEATURES = "synthetic512.npy"
VIDEO_SUFFIX = "224p.webm"
TEAM_NAMES = ("ARS", "BAR", "CHE", "DOR", "INT", "JUV", "LIV", "MIL", "PSG", "RMA", "ROM", "TOT")
BATCH = 256  # frames rendered per step (even, so every second frame stays on the 2 fps grid)
VIDEO_BITRATE = 40_000  # bit/s: a full game's two halves in ~28 MB


class WebmWriter:
    """VP8 WebM through PyAV's libvpx (real-time preset, capped bitrate: OpenCV's writer cannot cap it)."""

    def __init__(self, path: Path, fps: int, bitrate: int = VIDEO_BITRATE) -> None:
        import av  # only writing video needs PyAV (labels and features do not)

        self.container = av.open(str(path), "w")
        self.stream = self.container.add_stream("libvpx", rate=fps, options={"deadline": "realtime", "cpu-used": "16"})
        self.stream.width, self.stream.height, self.stream.pix_fmt = W, H, "yuv420p"
        self.stream.bit_rate = bitrate
        self.stream.codec_context.thread_count = 1  # libvpx's own threads cost 4x the CPU on a 224p frame

    def write(self, frames: np.ndarray) -> None:
        """Append (B, H, W, 3) uint8 BGR frames."""
        from av import VideoFrame

        for frame in frames:
            for packet in self.stream.encode(VideoFrame.from_ndarray(frame, format="bgr24")):
                self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


def labels_dict(events: Annotations, home: str, away: str) -> dict:
    """``Labels-v2.json`` content in the official layout (string positions, "H - MM:SS")."""
    order = np.lexsort((events.position_ms, events.half))
    goals = events.select(events.class_index == CLASSES.index("Goal"))
    score = f"{int((goals.team == 'home').sum())} - {int((goals.team == 'away').sum())}"
    annotations = [{
        "gameTime": format_game_time(events.half[i], events.position_ms[i]),
        "label": CLASSES[int(events.class_index[i])],
        "position": str(int(events.position_ms[i])),
        "team": str(events.team[i]),
        "visibility": "visible" if events.visible[i] else "not shown",
    } for i in order]
    return {"UrlLocal": "", "UrlYoutube": "", "annotations": annotations, "gameDate": "synthetic",
            "gameHomeTeam": home, "gameAwayTeam": away, "gameScore": score}


def _check_target(out_dir: Path, force: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "exists and is not a folder", "choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise InputError(out_dir, "folder exists and is not empty", "pass --force to overwrite it or choose another --out")


@dataclass(frozen=True)
class HalfJob:
    """Everything needed to render one half, picklable so the two halves can run in two processes."""

    out_dir: Path
    half: int
    events: Annotations  # this half's events
    n_features: int  # T = floor(2 * half seconds)
    scene_seed: np.random.SeedSequence  # same for both halves: same kits, stands, boards
    half_seed: np.random.SeedSequence
    kits: tuple[tuple, tuple]
    team_names: tuple[str, str]
    start_score: tuple[int, int]
    video: bool
    features_name: str


def render_half(job: HalfJob, progress: Callable[[int], None] | None = None) -> Path:
    """Render one half: its video (when asked) and its features from the same frames; ``progress(frames)``."""
    step = RENDER_FPS // FEATURE_FPS
    rng = np.random.default_rng(job.half_seed)
    scenes = SceneBook(job.kits, np.random.default_rng(job.scene_seed))
    plan = plan_half(job.events, job.n_features * step, rng, job.start_score)
    camera = WideCamera(job.kits, job.n_features * step, job.half, rng)
    broadcast = Broadcast(scenes, camera, plan, (job.half - 1) * 45 * 60, job.team_names)
    features = np.empty((job.n_features, FEATURE_DIM), np.float16)
    writer = WebmWriter(job.out_dir / f"{job.half}_{VIDEO_SUFFIX}", RENDER_FPS) if job.video else None
    filled = 0
    for frames in broadcast.frames(BATCH):
        if writer is not None:
            writer.write(frames)
        sampled = frames[::step]
        features[filled:filled + len(sampled)] = encode_frames(sampled)
        filled += len(sampled)
        if progress is not None:
            progress(len(frames))
    if writer is not None:
        writer.close()
    path = job.out_dir / f"{job.half}_{job.features_name}"
    np.save(path, features)
    return path


_COUNTERS = None  # per-half frame counters shared with the worker processes
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _init_worker(counters) -> None:
    global _COUNTERS
    _COUNTERS = counters


def _render_half_in_worker(job: HalfJob) -> Path:
    def count(frames: int) -> None:
        _COUNTERS[job.half - 1] += frames

    return render_half(job, count)


def _run_jobs(jobs: list[HalfJob], workers: int, total: int, progress: Callable[[int, int], None] | None) -> None:
    if workers <= 1:
        done = 0

        def count(frames: int) -> None:
            nonlocal done
            done += frames
            if progress is not None:
                progress(done, total)

        for job in jobs:
            render_half(job, count)
        return
    context = multiprocessing.get_context("spawn")  # no fork: the caller may hold torch/Streamlit threads
    counters = context.Array("q", len(jobs), lock=False)
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update({name: "1" for name in _THREAD_VARIABLES})  # one BLAS thread per worker process
    try:
        pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_init_worker,
                                   initargs=(counters,))
        futures = [pool.submit(_render_half_in_worker, job) for job in jobs]
    finally:
        for name, value in saved.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value
    with pool:
        while not all(f.done() for f in futures):
            wait(futures, timeout=0.25)
            if progress is not None:
                progress(min(total, int(sum(counters))), total)
        for future in futures:
            future.result()  # re-raise a worker's error here
    if progress is not None:
        progress(total, total)


@dataclass(frozen=True)
class GameTimeline:
    """What a seed decides before any rendering: cheap, so a demo seed can be picked by its events."""

    events: Annotations
    half_seconds: tuple[float, float]
    kits: tuple[tuple, tuple]  # BGR shirt colours of home and away
    team_names: tuple[str, str]


def game_timeline(seed: int, half_seconds: tuple[float, float] | None = None, rare_boost: float = 1.0) -> GameTimeline:
    """The events, half lengths, kits and names of the game of ``seed`` (exactly what generate_game writes)."""
    timeline_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[0])
    if half_seconds is None:
        half_seconds = sample_half_seconds(timeline_rng)
    if len(half_seconds) != 2 or min(half_seconds) < 10:
        raise InputError(None, f"half lengths {half_seconds} s", "give two halves of at least 10 s each")
    if rare_boost <= 0:
        raise InputError(None, f"rare_boost {rare_boost}", "give a positive factor (1 = the real rates)")
    half_seconds = (float(half_seconds[0]), float(half_seconds[1]))
    events = sample_timeline(timeline_rng, half_seconds, rare_boost=rare_boost)
    kit_index = timeline_rng.choice(len(KITS), size=2, replace=False)
    names = tuple(TEAM_NAMES[i] for i in timeline_rng.choice(len(TEAM_NAMES), size=2, replace=False))
    return GameTimeline(events, half_seconds, (KITS[kit_index[0]], KITS[kit_index[1]]), names)


def generate_game(out_dir: Path, seed: int, half_seconds: tuple[float, float] | None = None, video: bool = True,
                  features_name: str = DEFAULT_FEATURES, progress: Callable[[int, int], None] | None = None,
                  force: bool = False, workers: int = 2, rare_boost: float = 1.0) -> Game:
    """Generate the game of ``seed`` into ``out_dir`` and return it as a :class:`Game`.

    Writes ``{1,2}_<features_name>`` (float16 ``(T, 512)``, T = floor(2 * half seconds)),
    ``Labels-v2.json`` and, with ``video``, ``{1,2}_224p.webm`` (VP8, 398x224, 4 fps). Features are
    always computed from the rendered frames; ``video=False`` only skips the encoding. The same
    seed and half lengths give identical labels and features, whatever ``workers`` (processes, one
    per half). ``progress(done, total)`` counts rendered frames. Refuses a non-empty ``out_dir``
    unless ``force``. ``rare_boost`` (training games only) makes the rare classes more frequent.
    """
    out_dir = Path(out_dir)
    _check_target(out_dir, force)
    timeline = game_timeline(seed, half_seconds, rare_boost)
    _, scene_seed, *half_seeds = np.random.SeedSequence(seed).spawn(4)
    events = timeline.events
    first_goals = events.select((events.half == 1) & (events.class_index == CLASSES.index("Goal")))
    half_time_score = (int((first_goals.team == "home").sum()), int((first_goals.team == "away").sum()))

    n_features = [int(np.floor(s * FEATURE_FPS)) for s in timeline.half_seconds]
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [HalfJob(out_dir, half, events.for_half(half), n, scene_seed, half_seed, timeline.kits,
                    timeline.team_names, (0, 0) if half == 1 else half_time_score, video, features_name)
            for half, n, half_seed in zip(HALVES, n_features, half_seeds)]
    _run_jobs(jobs, workers, sum(n * (RENDER_FPS // FEATURE_FPS) for n in n_features), progress)
    labels = labels_dict(events, *timeline.team_names)
    (out_dir / LABELS_FILE).write_text(json.dumps(labels, indent=1) + "\n", encoding="utf-8")
    return game_at(out_dir, features=features_name)
