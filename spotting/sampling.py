"""Training data: per-half targets, anchors and chunk sampling (fresh every epoch, shardable).

Unlike the CALF reference, nothing here is modified in place while sampling (the reference wrote
-1 into a view of its stored labels, so events silently turned into background over an epoch),
and every epoch draws new anchors from a generator seeded by (seed, epoch, rank).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spotting.encoding import event_onehot, k_frames, spotting_targets, time_shifts
from spotting.losses import IGNORE_SHIFT
from spotting.model import ModelConfig
from spotting.soccernet import Annotations, Game


@dataclass
class HalfData:
    """One half ready for training: memory-mapped features and its targets."""

    features: np.ndarray  # (T, D), memory-mapped
    shifts: np.ndarray  # (T, C) float32 CALF time shifts (read-only)
    event_frames: np.ndarray  # (E,) frames of the (frame, class) events, time-major order
    event_classes: np.ndarray  # (E,)
    name: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])


def half_data(features: np.ndarray, labels: Annotations, half: int, config: ModelConfig, name: str = "") -> HalfData:
    onehot = event_onehot(labels, half, features.shape[0], config.framerate, config.num_classes)
    shifts = time_shifts(onehot, k_frames(config.framerate)).astype(np.float32)
    shifts.setflags(write=False)
    frames, classes = np.nonzero(onehot)  # row-major: time first, then class (as the reference)
    return HalfData(features, shifts, frames.astype(np.int64), classes.astype(np.int64), name)


def load_halves(games: list[Game], config: ModelConfig) -> list[HalfData]:
    """Both halves of each game (features memory-mapped, labels parsed)."""
    halves = []
    for game in games:
        labels = game.read_labels()
        for half in (1, 2):
            features = game.load_features(half, dim=config.feature_dim)
            halves.append(half_data(features, labels, half, config, f"{game.name} half {half}"))
    return halves


def background_ranges(shifts: np.ndarray, k: np.ndarray, min_length: int) -> np.ndarray:
    """``(R, 2)`` [start, stop) ranges at least ``min_length`` long where every class is outside (K1, K4)."""
    quiet = ((shifts <= k[0]) | (shifts >= k[3])).all(axis=1)
    edges = np.diff(np.concatenate(([0], quiet.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    keep = stops - starts >= min_length
    return np.stack((starts[keep], stops[keep]), axis=1)


class ChunkSampler:
    """Draws chunk starts as CALF does: a bucket uniformly among the 17 classes + background, then an
    anchor in it; event chunks start at anchor + U(-(chunk - RF), -RF), background chunks lie inside a
    quiet range. ``epoch(e)`` gives this rank's share of epoch e's chunks (``rank::world_size``).
    """

    def __init__(self, halves: list[HalfData], config: ModelConfig, seed: int = 0, rank: int = 0, world_size: int = 1):
        self.halves, self.config, self.seed = halves, config, seed
        self.rank, self.world_size = rank, world_size
        k = k_frames(config.framerate)
        buckets: list[list[np.ndarray]] = [[] for _ in range(config.num_classes + 1)]
        for h, half in enumerate(halves):
            for c in range(config.num_classes):
                frames = half.event_frames[half.event_classes == c]
                buckets[c].append(np.stack((np.full(frames.size, h), frames, frames), axis=1))
            ranges = background_ranges(half.shifts, k, config.chunk_size)
            buckets[-1].append(np.column_stack((np.full(len(ranges), h), ranges)))
        self.buckets = [np.concatenate(b).astype(np.int64) if b else np.zeros((0, 3), np.int64) for b in buckets]
        self.nonempty = np.array([i for i, b in enumerate(self.buckets) if len(b)], dtype=np.int64)
        if self.nonempty.size == 0:
            raise ValueError("no events and no background long enough to sample chunks from")

    def epoch(self, epoch: int, num_chunks: int) -> tuple[np.ndarray, np.ndarray]:
        """(half index, start frame) arrays of this rank's chunks for ``epoch``."""
        rng = np.random.default_rng([self.seed, epoch])
        c = self.config
        bucket = self.nonempty[rng.integers(0, self.nonempty.size, num_chunks)]
        half_index = np.empty(num_chunks, dtype=np.int64)
        start = np.empty(num_chunks, dtype=np.int64)
        for b in np.unique(bucket):  # at most 18 iterations
            where = np.flatnonzero(bucket == b)
            rows = self.buckets[b][rng.integers(0, len(self.buckets[b]), where.size)]
            half_index[where] = rows[:, 0]
            if b < c.num_classes:
                start[where] = rows[:, 1] + rng.integers(-c.chunk_size + c.receptive_field, -c.receptive_field, where.size)
            else:
                start[where] = rows[:, 1] + (rng.random(where.size) * (rows[:, 2] - rows[:, 1] - c.chunk_size + 1)).astype(np.int64)
        lengths = np.array([h.num_frames for h in self.halves])[half_index]
        start = np.clip(start, 0, np.maximum(lengths - c.chunk_size, 0))
        return half_index[self.rank:: self.world_size], start[self.rank:: self.world_size]


def make_batch(halves: list[HalfData], half_index: np.ndarray, starts: np.ndarray, config: ModelConfig):
    """Arrays for a batch: features ``(B, chunk + 2·margin, D)`` float32, valid mask ``(B, chunk + 2·margin)``,
    shifts ``(B, chunk, C)`` (borders set to the do-not-care shift, on a copy), targets ``(B, N, 2 + C)``.

    As in CALF, a chunk's first and last RF/2 frames carry no targets where the chunk cuts into the
    half (the head sees only one side of the action there; inference gives those frames to the
    neighbouring chunk). Unlike the reference, a chunk edge that *is* the half's start or end keeps
    its targets: inference has no other chunk for those frames, and the reference never learns the
    kick-off at 0:00 (a third of all kick-offs) nor anything in a half's first or last 20 s.
    """
    chunk, margin = config.chunk_size, config.margin
    border = int(np.ceil(config.receptive_field / 2))
    width = chunk + 2 * margin
    batch = len(starts)
    features = np.zeros((batch, width, config.feature_dim), dtype=np.float32)
    valid = np.zeros((batch, width), dtype=bool)
    shifts = np.full((batch, chunk, config.num_classes), IGNORE_SHIFT, dtype=np.float32)
    targets = np.zeros((batch, config.num_detections, 2 + config.num_classes), dtype=np.float32)
    for i, (h, s) in enumerate(zip(half_index, starts)):  # one iteration per chunk, slices inside
        half = halves[h]
        lo, hi = max(s - margin, 0), min(s + chunk + margin, half.num_frames)
        features[i, lo - (s - margin): hi - (s - margin)] = half.features[lo:hi]
        valid[i, lo - (s - margin): hi - (s - margin)] = True
        end = min(s + chunk, half.num_frames)
        first = s + border if s > 0 else s  # frames [first, last) carry targets
        last = end - border if end < half.num_frames else end
        shifts[i, first - s: last - s] = half.shifts[first:last]
        inside = (half.event_frames >= first) & (half.event_frames < last)
        targets[i] = spotting_targets(half.event_frames[inside] - s, half.event_classes[inside], chunk,
                                      config.num_detections, config.num_classes)
    return features, valid, shifts, targets
