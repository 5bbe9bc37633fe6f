"""Training chunks: no label corruption, fresh anchors every epoch, shardable, correct targets."""

from __future__ import annotations

import numpy as np
import pytest

from planted import planted_game
from spotting.losses import IGNORE_SHIFT
from spotting.model import ModelConfig
from spotting.sampling import ChunkSampler, background_ranges, half_data, make_batch
from spotting.encoding import k_frames

CONFIG = ModelConfig(feature_dim=32, chunk_seconds=60, receptive_field_seconds=20)


@pytest.fixture(scope="module")
def halves():
    rng = np.random.default_rng(3)
    out = []
    for _ in range(2):
        features, labels = planted_game(rng, num_frames=1500, events_per_half=10)
        out += [half_data(features[h], labels, h, CONFIG) for h in (1, 2)]
    return out


def test_sampling_never_changes_the_stored_labels(halves) -> None:
    before = [h.shifts.copy() for h in halves]
    sampler = ChunkSampler(halves, CONFIG, seed=1)
    for epoch in range(3):
        index, starts = sampler.epoch(epoch, 256)
        for first in range(0, 256, 64):
            make_batch(halves, index[first:first + 64], starts[first:first + 64], CONFIG)
    for old, half in zip(before, halves):
        np.testing.assert_array_equal(old, half.shifts)
    assert not halves[0].shifts.flags.writeable


def test_fresh_anchors_every_epoch_and_reproducible(halves) -> None:
    sampler = ChunkSampler(halves, CONFIG, seed=1)
    a0, s0 = sampler.epoch(0, 200)
    a1, s1 = sampler.epoch(1, 200)
    assert not (np.array_equal(a0, a1) and np.array_equal(s0, s1))
    b0, t0 = ChunkSampler(halves, CONFIG, seed=1).epoch(0, 200)
    assert np.array_equal(a0, b0) and np.array_equal(s0, t0)


def test_shards_partition_the_epoch(halves) -> None:
    full = ChunkSampler(halves, CONFIG, seed=5).epoch(2, 99)
    shards = [ChunkSampler(halves, CONFIG, seed=5, rank=r, world_size=3).epoch(2, 99) for r in range(3)]
    pairs = sorted(p for index, starts in shards for p in zip(index.tolist(), starts.tolist()))
    assert pairs == sorted(zip(full[0].tolist(), full[1].tolist()))


def test_chunks_stay_inside_the_half_and_event_chunks_contain_their_event(halves) -> None:
    index, starts = ChunkSampler(halves, CONFIG, seed=2).epoch(0, 500)
    lengths = np.array([h.num_frames for h in halves])[index]
    assert (starts >= 0).all() and (starts + CONFIG.chunk_size <= lengths).all()
    _, _, shifts, targets = make_batch(halves, index, starts, CONFIG)
    assert (targets[:, :, 0].sum(1) > 0).mean() > 0.5  # most chunks hold an event to spot


def test_batch_targets_and_masked_borders(halves) -> None:
    half = halves[0]
    event = int(half.event_frames[3])
    start = event - 50
    features, valid, shifts, targets = make_batch(halves, np.array([0]), np.array([start]), CONFIG)
    border = CONFIG.receptive_field // 2
    assert (shifts[0, :border] == IGNORE_SHIFT).all() and (shifts[0, -border:] == IGNORE_SHIFT).all()
    np.testing.assert_array_equal(shifts[0, border:-border], half.shifts[start + border: start + CONFIG.chunk_size - border])
    rows = targets[0][targets[0, :, 0] > 0]
    inside = (half.event_frames >= start + border) & (half.event_frames < start + CONFIG.chunk_size - border)
    assert len(rows) == inside.sum()
    assert any(abs(r[1] * CONFIG.chunk_size - 50) < 1e-4 and r[2 + half.event_classes[3]] == 1 for r in rows)
    assert valid[0].all()  # inside the half, margins included
    np.testing.assert_array_equal(features[0], half.features[start - CONFIG.margin: start + CONFIG.chunk_size + CONFIG.margin])


def test_half_edges_keep_their_targets(halves) -> None:
    """A chunk cut at the half's own start or end trains those frames (inference has no other chunk
    for them: the kick-off at 0:00 was never learnt when every chunk edge was masked)."""
    half = halves[0]
    border = int(np.ceil(CONFIG.receptive_field / 2))
    edge_frames = np.array([2, half.num_frames - 3])
    shifts_edge = np.full((half.num_frames, CONFIG.num_classes), -1000.0, dtype=np.float32)
    onehot_frames = np.concatenate((half.event_frames, edge_frames))
    onehot_classes = np.concatenate((half.event_classes, [1, 8]))
    edged = type(half)(half.features, shifts_edge, onehot_frames, onehot_classes)
    last_start = half.num_frames - CONFIG.chunk_size
    _, _, shifts, targets = make_batch([edged], np.array([0, 0]), np.array([0, last_start]), CONFIG)
    assert (shifts[0, :border] == -1000.0).all() and (shifts[0, -border:] == IGNORE_SHIFT).all()
    assert (shifts[1, -border:] == -1000.0).all() and (shifts[1, :border] == IGNORE_SHIFT).all()
    spotted = [{(round(float(r[1]) * CONFIG.chunk_size), int(r[2:].argmax())) for r in t[t[:, 0] > 0]} for t in targets]
    assert (2, 1) in spotted[0]
    assert (CONFIG.chunk_size - 3, 8) in spotted[1]
    # a chunk that starts one frame later cuts into the half: its first frames are masked again
    _, _, shifts, targets = make_batch([edged], np.array([0]), np.array([1]), CONFIG)
    assert (shifts[0, :border] == IGNORE_SHIFT).all()
    assert (1, 1) not in {(round(float(r[1]) * CONFIG.chunk_size), int(r[2:].argmax())) for r in targets[0][targets[0, :, 0] > 0]}


def test_background_ranges_are_quiet_for_every_class() -> None:
    shifts = np.full((1000, 17), -1000.0)
    shifts[400:420] = 0
    ranges = background_ranges(shifts, k_frames(2.0), 100)
    assert ranges.tolist() == [[0, 400], [420, 1000]]
