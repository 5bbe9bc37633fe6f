"""Training data: per-half targets, anchors, chunk sampling (fresh every epoch, shardable) and the
batches, built by ``torch.utils.data.DataLoader`` workers.

Unlike the CALF reference, nothing here is modified in place while sampling (the reference wrote
-1 into a view of its stored labels, so events silently turned into background over an epoch),
and every epoch draws new anchors from a generator seeded by (seed, epoch).

Features stay memory-mapped in their stored dtype (float16 as is) from the file to the batch: a
batch copies only its chunks' frames, and the pages it read are then dropped from the process's
resident set (:meth:`HalfData.release_pages`), so memory does not grow with the number of games.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

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

    def release_pages(self) -> None:
        """Drop the feature pages this process has read from its resident set. They stay in the
        page cache (the next read maps them again without disk I/O); without this, every page ever
        sampled counts in the process's resident memory, which then grows with the data set."""
        base = getattr(self.features, "base", None)
        if isinstance(self.features, np.memmap) and isinstance(base, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
            base.madvise(mmap.MADV_DONTNEED)

    def __getstate__(self) -> dict:
        """Pickled (for a DataLoader worker started by spawn/forkserver) as the file to map, not as
        its contents: numpy pickles a memory map as a full in-memory copy."""
        state = dict(self.__dict__)
        features = self.features
        if isinstance(features, np.memmap) and isinstance(features.base, mmap.mmap):
            order = "F" if features.flags.f_contiguous and not features.flags.c_contiguous else "C"
            state["features"] = ("memmap", features.filename, features.offset, features.dtype.str, features.shape, order)
        return state

    def __setstate__(self, state: dict) -> None:
        features = state["features"]
        if isinstance(features, tuple) and features[0] == "memmap":
            _, filename, offset, dtype, shape, order = features
            state["features"] = np.memmap(filename, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape, order=order)
        self.__dict__.update(state)


def half_data(features: np.ndarray, labels: Annotations, half: int, config: ModelConfig, name: str = "") -> HalfData:
    onehot = event_onehot(labels, half, features.shape[0], config.framerate, config.num_classes)
    shifts = time_shifts(onehot, k_frames(config.framerate, config.spec.classes)).astype(np.float32)
    shifts.setflags(write=False)
    frames, classes = np.nonzero(onehot)  # row-major: time first, then class (as the reference)
    return HalfData(features, shifts, frames.astype(np.int64), classes.astype(np.int64), name)


def load_halves(games: list[Game], config: ModelConfig) -> list[HalfData]:
    """Both halves of each game (features memory-mapped and checked, labels parsed).

    Checking a half's values for NaN/Inf reads all of it: its pages are released right after, so
    loading holds one half at a time, not the data set."""
    halves = []
    for game in games:
        labels = game.read_labels(classes=config.spec)
        for half in (1, 2):
            features = game.load_features(half, dim=config.feature_dim)
            halves.append(half_data(features, labels, half, config, f"{game.name} half {half}"))
            halves[-1].release_pages()
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
        k = k_frames(config.framerate, config.spec.classes)
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


def make_batch(halves: list[HalfData], half_index: np.ndarray, starts: np.ndarray, config: ModelConfig,
               dtype: np.dtype | type | None = np.float32):
    """Arrays for a batch: features ``(B, chunk + 2·margin, D)`` in ``dtype`` (``None``: the stored
    features' own, native byte order — float16 stays float16), valid mask ``(B, chunk + 2·margin)``,
    shifts ``(B, chunk, C)`` float32 (borders set to the do-not-care shift, on a copy), targets ``(B, N, 2 + C)``.

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
    if dtype is None:  # never narrower than any half's (a float32 half in a float16 batch would lose bits)
        stored = [halves[h].features.dtype for h in set(np.asarray(half_index).tolist())] or [np.dtype(np.float32)]
        dtype = np.result_type(*stored).newbyteorder("=")  # torch takes native byte order only
    features = np.zeros((batch, width, config.feature_dim), dtype=dtype)
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


def rank_batch_slice(step: int, batch_size: int, rank: int, world_size: int) -> slice:
    """This rank's part of global batch ``step``, as a slice of its ``rank::world_size`` share of the epoch.

    Global batch ``step`` is the epoch's chunks ``[step·B, (step + 1)·B)``; this rank holds those whose
    position is ≡ rank (mod W), which sit from ``⌈(step·B − rank) / W⌉`` in its share. The ranks' parts
    add up to the global batch exactly, for any ``B ≥ W`` (their sizes differ by at most one)."""
    w = world_size
    return slice((step * batch_size - rank + w - 1) // w, ((step + 1) * batch_size - rank + w - 1) // w)


class ChunkBatches(Dataset):
    """Item ``(epoch, step)``: this rank's part of global batch ``step`` of ``epoch``, as
    :func:`make_batch` builds it (features in their stored dtype), as tensors.

    A DataLoader worker draws the epoch's chunks itself (once per epoch, from the sampler's seed), so
    only ``(epoch, step)`` pairs travel to the workers and only the batches come back."""

    def __init__(self, sampler: ChunkSampler, chunks_per_epoch: int, batch_size: int) -> None:
        self.sampler, self.chunks_per_epoch, self.batch_size = sampler, chunks_per_epoch, batch_size
        self._drawn: tuple[int, tuple[np.ndarray, np.ndarray]] | None = None

    @property
    def steps(self) -> int:
        """Global batches per epoch (the same on every rank)."""
        return self.chunks_per_epoch // self.batch_size

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, ...]:
        epoch, step = key
        if self._drawn is None or self._drawn[0] != epoch:
            self._drawn = (epoch, self.sampler.epoch(epoch, self.chunks_per_epoch))
        index, starts = self._drawn[1]
        part = rank_batch_slice(step, self.batch_size, self.sampler.rank, self.sampler.world_size)
        arrays = make_batch(self.sampler.halves, index[part], starts[part], self.sampler.config, dtype=None)
        for h in np.unique(index[part]):
            self.sampler.halves[h].release_pages()
        return tuple(torch.from_numpy(a) for a in arrays)


class EpochSteps(Sampler):
    """``(epoch, step)`` keys of one epoch, the epoch set before each pass (as DistributedSampler's)."""

    def __init__(self, steps: int) -> None:
        self.steps, self.epoch = steps, 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter([(self.epoch, step) for step in range(self.steps)])

    def __len__(self) -> int:
        return self.steps


class BatchLoader:
    """This rank's batches, epoch by epoch: features ``(b, chunk + 2·margin, D)`` (stored dtype), valid
    ``(b, chunk + 2·margin)`` bool, shifts ``(b, chunk, C)`` and targets ``(b, N, 2 + C)`` float32, with
    ``b`` this rank's part of each global batch of ``batch_size``.

    ``workers`` DataLoader processes build batches while the model trains (0: in this process);
    they persist across epochs. ``pin_memory`` for a CUDA device (asynchronous copies)."""

    def __init__(self, sampler: ChunkSampler, chunks_per_epoch: int, batch_size: int, workers: int = 0,
                 pin_memory: bool = False) -> None:
        self.dataset = ChunkBatches(sampler, chunks_per_epoch, batch_size)
        self.keys = EpochSteps(self.dataset.steps)
        self.loader = DataLoader(self.dataset, sampler=self.keys, batch_size=None, num_workers=workers,
                                 pin_memory=pin_memory, persistent_workers=workers > 0,
                                 prefetch_factor=2 if workers > 0 else None)

    def __len__(self) -> int:
        return self.dataset.steps

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, ...]]:
        self.keys.epoch = epoch
        return iter(self.loader)
