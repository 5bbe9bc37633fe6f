"""Synthetic Ball Action Spotting games: short halves at 25 fps with a pass or a drive every few seconds.

SoccerNet's Ball Action Spotting data (2023: PASS, DRIVE; 2024: 12 classes) is dense — an action
every ~1-3 s — and annotated on 25-fps video frames in ``Labels-ball.json``. A game written here has
the same layout: ``Labels-ball.json`` (positions on the 40 ms grid, ``team`` left/right), per-half
features ``{1,2}_<name>`` of shape ``(25 · seconds, dim)`` in which each action leaves its class's
signature for a few frames over Gaussian noise (so a model can learn them), and, on request, a small
25-fps video of each half (``{1,2}_224p.webm``: a ball moving from action to action).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spotting.errors import InputError
from spotting.soccernet import Annotations, Game, format_game_time, game_at
from spotting.specs import BALL_2023, Specifications

BALL_FEATURES = "ball64.npy"
BALL_FPS = 25.0
SIGNATURE_FRAMES = 3  # an action marks this many feature frames (0.12 s) from its frame on
SIGNATURE_SEED = 2023  # the same class signatures in every game


@dataclass(frozen=True)
class BallTimeline:
    """What a seed decides: the actions of both halves and the halves' lengths."""

    events: Annotations  # positions on the 25-fps grid (multiples of 40 ms)
    half_seconds: tuple[float, float]


def ball_timeline(seed: int, half_seconds: tuple[float, float] = (120.0, 120.0), spec: Specifications = BALL_2023,
                  gap_s: tuple[float, float] = (1.0, 3.5)) -> BallTimeline:
    """The actions of the game of ``seed``: gaps uniform in ``gap_s`` seconds, classes drawn with
    PASS and DRIVE (the first two of a Ball set) about 9 times out of 10, the others evenly."""
    if len(half_seconds) != 2 or min(half_seconds) < 5:
        raise InputError(None, f"half lengths {half_seconds} s", "give two halves of at least 5 s each")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    weights = np.ones(spec.num_classes)
    weights[: min(2, spec.num_classes)] = max(1.0, 4.5 * (spec.num_classes - 2)) if spec.num_classes > 2 else 1.0
    weights /= weights.sum()
    half, position, classes, team = [], [], [], []
    for h, seconds in zip((1, 2), half_seconds):
        t = float(rng.uniform(0.5, 1.5))
        while t < seconds - 0.5:
            frame = int(t * BALL_FPS)
            half.append(h)
            position.append(frame * 40)
            classes.append(int(rng.choice(spec.num_classes, p=weights)))
            team.append("left" if rng.random() < 0.5 else "right")
            t += float(rng.uniform(*gap_s))
    n = len(half)
    events = Annotations.from_lists(half, position, classes, np.ones(n, bool), team, np.ones(n))
    return BallTimeline(events, (float(half_seconds[0]), float(half_seconds[1])))


def ball_features(events: Annotations, half: int, num_frames: int, dim: int, rng: np.random.Generator,
                  num_classes: int, strength: float = 2.0) -> np.ndarray:
    """``(num_frames, dim)`` float16: noise, plus each action's class signature over its first frames."""
    signatures = np.random.default_rng(SIGNATURE_SEED).standard_normal((num_classes, dim)) * strength
    features = rng.standard_normal((num_frames, dim)).astype(np.float32)
    mine = events.for_half(half)
    frames = np.clip(mine.frames(BALL_FPS), 0, num_frames - 1)
    for offset in range(SIGNATURE_FRAMES):
        rows = np.clip(frames + offset, 0, num_frames - 1)
        features[rows] += signatures[mine.class_index]
    return features.astype(np.float16)


def ball_labels(events: Annotations, spec: Specifications) -> dict:
    """``Labels-ball.json`` content: ``{"annotations": [...]}`` as the Ball Action data writes it."""
    order = np.lexsort((events.position_ms, events.half))
    return {"UrlLocal": "", "annotations": [{
        "gameTime": format_game_time(events.half[i], events.position_ms[i]),
        "label": spec.classes[int(events.class_index[i])],
        "position": str(int(events.position_ms[i])),
        "team": str(events.team[i]),
        "visibility": "visible",
    } for i in order]}


def _write_video(path: Path, events: Annotations, half: int, num_frames: int) -> None:
    """A 25-fps VP8 video of a pitch where the ball moves from one action to the next (small, fast)."""
    import cv2

    from spotting.synth.game import WebmWriter
    from spotting.synth.scenes import H, W

    mine = events.for_half(half)
    frames_at = mine.frames(BALL_FPS)
    rng = np.random.default_rng(half)
    spots = np.column_stack((rng.uniform(30, W - 30, len(frames_at) + 1), rng.uniform(30, H - 30, len(frames_at) + 1)))
    times = np.concatenate(([0], frames_at)).astype(np.float64)
    writer = WebmWriter(path, int(BALL_FPS))
    pitch = np.zeros((H, W, 3), np.uint8)
    pitch[:] = (40, 120, 40)
    cv2.line(pitch, (W // 2, 0), (W // 2, H), (230, 230, 230), 1)
    batch = []
    for f in range(num_frames):
        x = np.interp(f, times, spots[:len(times), 0])
        y = np.interp(f, times, spots[:len(times), 1])
        frame = pitch.copy()
        cv2.circle(frame, (int(x), int(y)), 4, (255, 255, 255), -1)
        seconds = f / BALL_FPS
        cv2.putText(frame, f"{half}H {int(seconds) // 60:02d}:{int(seconds) % 60:02d}", (6, 16),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
        batch.append(frame)
        if len(batch) == 250:
            writer.write(np.stack(batch))
            batch = []
    if batch:
        writer.write(np.stack(batch))
    writer.close()


def generate_ball_game(out_dir: str | Path, seed: int, half_seconds: tuple[float, float] = (120.0, 120.0),
                       spec: Specifications = BALL_2023, dim: int = 64, features_name: str = BALL_FEATURES,
                       video: bool = False, force: bool = False) -> Game:
    """Write the Ball Action game of ``seed`` into ``out_dir`` (see the module docstring) and return it
    (its ``labels_file`` is ``spec.labels_file``). Refuses a non-empty folder unless ``force``."""
    out_dir = Path(out_dir)
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise InputError(out_dir, "folder exists and is not empty", "pass --force to overwrite it or choose another --out")
    timeline = ball_timeline(seed, half_seconds, spec)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for half, seconds in zip((1, 2), timeline.half_seconds):
        num_frames = int(np.floor(seconds * BALL_FPS))
        np.save(out_dir / f"{half}_{features_name}",
                ball_features(timeline.events, half, num_frames, dim, rng, spec.num_classes))
        if video:
            _write_video(out_dir / f"{half}_224p.webm", timeline.events, half, num_frames)
    (out_dir / spec.labels_file).write_text(json.dumps(ball_labels(timeline.events, spec), indent=1) + "\n",
                                            encoding="utf-8")
    return game_at(out_dir, features=features_name, labels_file=spec.labels_file)
