"""Broadcast frames of a synthetic half: the wide camera, the cut-in shots, replays and graphics.

Frames are rendered once at ``RENDER_FPS`` (4 fps): all of them go to the video, every second one
(2 fps) to the feature encoder. What each frame shows is decided up front for the whole half
(:func:`plan_half`, vectorised); drawing a frame is then a crop of a pre-drawn panorama plus a
few sprites, or a copy of a pre-drawn shot template.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from spotting.soccernet import CLASS_INDEX, Annotations
from spotting.synth.scenes import (BANNER_SECONDS, CUE_SECONDS, GRASS, H, KEEPER, W, WHITE, SceneBook, boards,
                                   crowd, draw_banner)

RENDER_FPS = 4  # video frame rate; the 2 fps features take every second frame
FEATURE_FPS = 2
WIDE, REPLAY = -1, -2  # plan kinds besides a class index (a cut-in shot)
REPLAY_LEAD_S = 2.0  # a "not shown" event happens this long into a replay
GOAL_REPLAY_S = 8.0
PX_PER_M, MARGIN_M = 9, 6  # panorama: metres along the pitch -> pixels
PITCH_TOP, PITCH_PX = 60, 156  # panorama rows of the far and near touchlines
PANORAMA_W = (105 + 2 * MARGIN_M) * PX_PER_M
# 4-4-2 of the team defending the left goal: (x, y) as fractions of the pitch; the keeper first.
FORMATION = np.array([[0.03, 0.5], [0.2, 0.15], [0.2, 0.38], [0.2, 0.62], [0.2, 0.85], [0.42, 0.12],
                      [0.42, 0.38], [0.42, 0.62], [0.42, 0.88], [0.62, 0.35], [0.62, 0.65]])


@dataclass(frozen=True)
class HalfPlan:
    """What each rendered frame of a half shows; every array has N = number of frames at 4 fps."""

    kind: np.ndarray  # (N,) int16: WIDE, REPLAY or the class index of a cut-in shot
    phase: np.ndarray  # (N,) float32 seconds since the shot began
    team: np.ndarray  # (N,) int8 acting team of the shot: 0 home, 1 away
    flip: np.ndarray  # (N,) bool: the shot is mirrored
    banner: np.ndarray  # (N,) int16 class of the "not shown" graphic on screen, -1 none
    score: np.ndarray  # (N, 2) int16 goals of home and away


def cue_onset_frames(position_ms: np.ndarray) -> np.ndarray:
    """Render frame where an event's cue starts: its 2 fps feature frame (as SoccerNet counts it) x 2."""
    return np.floor(FEATURE_FPS * (np.asarray(position_ms) / 1000)).astype(np.int64) * (RENDER_FPS // FEATURE_FPS)


def plan_half(events: Annotations, n_frames: int, rng: np.random.Generator, start_score: tuple[int, int]) -> HalfPlan:
    """Assign shots to frames: a visible event cuts to its class's shot at its onset frame, a "not
    shown" one happens during a replay and shows its lower-third graphic from its onset frame."""
    kind = np.full(n_frames, WIDE, np.int16)
    phase = (np.arange(n_frames) / RENDER_FPS).astype(np.float32)
    team = np.zeros(n_frames, np.int8)
    flip = np.zeros(n_frames, bool)
    banner = np.full(n_frames, -1, np.int16)
    score = np.tile(np.asarray(start_score, np.int16), (n_frames, 1))
    order = np.argsort(events.position_ms, kind="stable")
    onsets = cue_onset_frames(events.position_ms[order])
    previous = -RENDER_FPS
    for k0, cls, shown, who in zip(onsets, events.class_index[order], events.visible[order], events.team[order]):
        k0, cls = int(k0), int(cls)
        if k0 >= n_frames:
            continue
        side = 1 if who == "away" else 0
        if shown:
            k1 = min(n_frames, k0 + int(CUE_SECONDS[cls] * RENDER_FPS))
            kind[k0:k1] = cls
            phase[k0:k1] = np.arange(k1 - k0) / RENDER_FPS
            team[k0:k1] = side
            mirrored = rng.random() < 0.5
            if k0 > 0 and kind[k0 - 1] == cls:  # same shot still on screen: cut to the other angle
                mirrored = not flip[k0 - 1]
            flip[k0:k1] = mirrored
            if cls == CLASS_INDEX["Goal"]:
                kind[k1:k1 + int(GOAL_REPLAY_S * RENDER_FPS)] = REPLAY
        else:  # off camera: replay on screen, keeping at least 1 s of the previous event's shot
            r0 = max(k0 - int(REPLAY_LEAD_S * RENDER_FPS), previous + RENDER_FPS)
            k1 = k0 + int(BANNER_SECONDS * RENDER_FPS)
            kind[r0:k1] = REPLAY
            if k0 >= 2 and banner[k0 - 1] == cls:  # same graphic still up: take it down for a moment
                banner[k0 - 2:k0] = -1
            banner[k0:k1] = cls
        if cls == CLASS_INDEX["Goal"]:
            score[k0:, side] += 1
        previous = k0
    return HalfPlan(kind, phase, team, flip, banner, score)


def _smooth_series(rng: np.random.Generator, n_frames: int, shape: tuple, step_s: float, scale: float) -> np.ndarray:
    """(n_frames, *shape) piecewise-linear noise through random control points every ``step_s``."""
    step = step_s * RENDER_FPS
    control = rng.normal(0.0, scale, size=(int(n_frames / step) + 2, *shape))
    u = np.arange(n_frames) / step
    i0 = u.astype(np.int64)
    w = (u - i0).reshape(-1, *([1] * len(shape)))
    return control[i0] * (1 - w) + control[i0 + 1] * w


class WideCamera:
    """The main camera of one half: a panorama of the stadium cropped around the ball."""

    def __init__(self, kits: tuple[tuple, tuple], n_frames: int, half: int, rng: np.random.Generator) -> None:
        self.panorama = _panorama(rng)
        walk = _smooth_series(rng, n_frames, (2,), 1.5, 0.35).cumsum(0) / 6
        ball = np.stack([52.5 + 47 * np.sin(walk[:, 0]), 34 + 30 * np.sin(walk[:, 1] + 1.0)], axis=1)  # (N, 2) m
        base = np.concatenate([FORMATION, FORMATION * [-1, 1] + [1, 0]]) * [105, 68]  # (22, 2): home left
        if half == 2:
            base[:, 0] = 105 - base[:, 0]
        drift = _smooth_series(rng, n_frames, (22, 2), 2.0, 3.0)
        players = base + (ball[:, None] - [52.5, 34]) * [0.55, 0.3] + drift  # (N, 22, 2) m
        players[:, [0, 11], 0] = base[[0, 11], 0] + drift[:, [0, 11], 0] * 0.3  # keepers stay home
        window = np.ones(2 * RENDER_FPS) / (2 * RENDER_FPS)
        follow = np.convolve(np.pad(ball[:, 0], RENDER_FPS, mode="edge"), window, mode="same")[RENDER_FPS:-RENDER_FPS]
        self.left = np.clip(((follow + MARGIN_M) * PX_PER_M - W / 2).astype(np.int64), 0, PANORAMA_W - W)  # (N,)
        self.ball_px = _to_panorama(ball)  # (N, 2) int
        self.players_px = _to_panorama(players)  # (N, 22, 2) int
        self.colours = np.array([KEEPER] + [kits[0]] * 10 + [(40, 200, 230)] + [kits[1]] * 10, np.uint8)  # (22, 3)
        body_y, body_x = np.mgrid[-9:0, -2:2]
        self.sprite = np.stack([body_y.ravel(), body_x.ravel()], axis=1)  # (36, 2) offsets of a player

    def draw(self, out: np.ndarray, k: int) -> None:
        """Write wide frame ``k`` into ``out`` (H, W, 3)."""
        left = self.left[k]
        out[:] = self.panorama[:, left:left + W]
        ys = self.players_px[k, :, 1, None] + self.sprite[None, :, 0]  # (22, 36)
        xs = self.players_px[k, :, 0, None] - left + self.sprite[None, :, 1]
        inside = (xs >= 0) & (xs < W) & (ys >= 0) & (ys < H)
        colour = np.broadcast_to(self.colours[:, None], (*xs.shape, 3))
        out[ys[inside], xs[inside]] = colour[inside]
        bx, by = self.ball_px[k, 0] - left, self.ball_px[k, 1]
        if 2 <= bx < W - 2:
            out[by - 1:by + 2, bx - 1:bx + 2] = WHITE


def _to_panorama(metres: np.ndarray) -> np.ndarray:
    x = (metres[..., 0] + MARGIN_M) * PX_PER_M
    y = PITCH_TOP + metres[..., 1] / 68 * PITCH_PX
    return np.stack([x, y], axis=-1).astype(np.int64)


def _panorama(rng: np.random.Generator) -> np.ndarray:
    """(H, PANORAMA_W, 3): stands, boards and the pitch with its lines, seen by the main camera."""
    img = np.zeros((H, PANORAMA_W, 3), np.uint8)
    wide = np.zeros((H, W, 3), np.uint8)
    for x0 in range(0, PANORAMA_W, W):  # reuse the shot painters tile by tile
        crowd(wide, 0, 44, rng)
        boards(wide, 44, 56, ((160, 40, 40), (30, 30, 160), (40, 120, 200)), width=44)
        img[:, x0:x0 + W] = wide[:, :PANORAMA_W - x0]
    ys, xs = np.mgrid[56:H, 0:PANORAMA_W]
    img[56:] = np.where((((xs // (PX_PER_M * 105 / 20)) % 2) == 0)[..., None], GRASS[0], GRASS[1])

    def px(x: float, y: float) -> tuple[int, int]:
        return int((x + MARGIN_M) * PX_PER_M), int(PITCH_TOP + y / 68 * PITCH_PX)

    line = (225, 225, 225)
    cv2.rectangle(img, px(0, 0), px(105, 68), line, 2)
    cv2.line(img, px(52.5, 0), px(52.5, 68), line, 2)
    cv2.ellipse(img, px(52.5, 34), (int(9.15 * PX_PER_M), int(9.15 / 68 * PITCH_PX)), 0, 0, 360, line, 2)
    for x0, x1 in ((0, 16.5), (105, 88.5)):
        cv2.rectangle(img, px(x0, 13.85), px(x1, 54.15), line, 2)
        cv2.rectangle(img, px(x0, 30.3), px(x0 - np.sign(x1 - x0) * 1.5, 37.7), (250, 250, 250), -1)
    return img


class Broadcast:
    """Draws every frame of one half from its :class:`HalfPlan`."""

    def __init__(self, scenes: SceneBook, camera: WideCamera, plan: HalfPlan, clock_offset_s: int,
                 team_names: tuple[str, str]) -> None:
        self.scenes, self.camera, self.plan = scenes, camera, plan
        self.clock_offset_s = clock_offset_s
        self.team_names = team_names
        self._scoreboards: dict[tuple[int, int], np.ndarray] = {}
        self._tint = np.full((H, W, 3), (40, 90, 120), np.uint8)  # replays are colour-graded

    def _scoreboard(self, score: tuple[int, int]) -> np.ndarray:
        if score not in self._scoreboards:
            board = np.full((18, 150, 3), (45, 25, 15), np.uint8)
            text = f"{self.team_names[0]} {score[0]}-{score[1]} {self.team_names[1]}"
            cv2.putText(board, text, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, WHITE, 1, cv2.LINE_AA)
            self._scoreboards[score] = board
        return self._scoreboards[score]

    def draw(self, out: np.ndarray, k: int) -> None:
        """Write frame ``k`` of the half into ``out`` (H, W, 3) uint8 BGR."""
        plan = self.plan
        kind = int(plan.kind[k])
        if kind >= 0:
            self.scenes.draw_cue(out, kind, int(plan.team[k]), float(plan.phase[k]), bool(plan.flip[k]))
        elif kind == REPLAY:  # earlier play, colour-graded, with the replay tag
            self.camera.draw(out, max(0, k - 20 * RENDER_FPS))
            cv2.addWeighted(out, 0.55, self._tint, 0.45, 0, dst=out)
            cv2.putText(out, "REPLAY", (300, 40), cv2.FONT_HERSHEY_DUPLEX, 0.6, WHITE, 1, cv2.LINE_AA)
        else:
            self.camera.draw(out, k)
        if plan.banner[k] >= 0:
            draw_banner(out, self.scenes.banners[plan.banner[k]])
        out[6:24, 8:158] = self._scoreboard((int(plan.score[k, 0]), int(plan.score[k, 1])))
        seconds = self.clock_offset_s + k // RENDER_FPS
        out[6:24, 158:204] = (20, 20, 20)
        cv2.putText(out, f"{seconds // 60:02d}:{seconds % 60:02d}", (162, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    WHITE, 1, cv2.LINE_AA)

    def frames(self, batch: int = 256) -> Iterator[np.ndarray]:
        """Every frame of the half in order, in batches of (B, H, W, 3) uint8 (B <= ``batch``)."""
        n = len(self.plan.kind)
        buffer = np.empty((batch, H, W, 3), np.uint8)
        for start in range(0, n, batch):
            stop = min(n, start + batch)
            for i, k in enumerate(range(start, stop)):
                self.draw(buffer[i], k)
            yield buffer[:stop - start]
