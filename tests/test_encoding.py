"""Known-answer tests for CALF's label encodings."""

from __future__ import annotations

import numpy as np
import pytest

from spotting.encoding import K_SECONDS, event_onehot, k_frames, spotting_targets, time_shifts
from spotting.soccernet import Annotations


def loop_time_shifts(onehot: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The CALF rules written as a plain per-frame loop (the known answer)."""
    num_frames, num_classes = onehot.shape
    out = np.empty((num_frames, num_classes))
    for c in range(num_classes):
        k1, k2, k3, k4 = k[:, c]
        events = [int(e) for e in np.flatnonzero(onehot[:, c] == 1)]
        for t in range(num_frames):
            if not events:
                out[t, c] = k1
                continue
            if len(events) == 1:
                out[t, c] = t - events[0]
                continue
            anchors = [-k4] + events + [num_frames - k1]
            s1 = t - max(a for a in anchors if a <= t)
            s2 = t - min(a for a in anchors if a > t)
            if s1 < k3:
                out[t, c] = s1
            elif s1 < k4:
                if s2 <= k1:
                    out[t, c] = s1
                elif (s1 - k3) / (k4 - k3) < (k2 - s2) / (k2 - k1):
                    out[t, c] = s1
                else:
                    out[t, c] = s2
            else:
                out[t, c] = s2
    return out


@pytest.mark.parametrize("num_frames,density,seed", [(1, 0.5, 0), (7, 0.3, 1), (240, 0.02, 2), (1500, 0.004, 3), (600, 0.0, 4)])
def test_time_shifts_match_plain_loop(num_frames: int, density: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    onehot = (rng.random((num_frames, 17)) < density).astype(np.uint8)
    onehot[:, 0] = 0  # a class without events
    if num_frames > 10:
        onehot[:, 1] = 0
        onehot[num_frames // 2, 1] = 1  # a class with exactly one event
    k = k_frames(2.0)
    np.testing.assert_array_equal(time_shifts(onehot, k), loop_time_shifts(onehot, k))


def test_time_shift_values_around_one_goal() -> None:
    onehot = np.zeros((400, 17), np.uint8)
    onehot[[100, 300], 2] = 1  # two goals at 50 s and 150 s
    shifts = time_shifts(onehot, k_frames(2.0))[:, 2]
    assert shifts[100] == 0 and shifts[300] == 0
    assert shifts[110] == 10  # just after: positive shift from the previous goal
    assert shifts[90] == -10  # before the first goal: negative shift to it
    assert shifts[295] == -5  # near the second goal: the shift to the next event wins


def test_k_is_scaled_by_framerate_not_repeated() -> None:
    np.testing.assert_array_equal(k_frames(2.0), K_SECONDS * 2)
    np.testing.assert_array_equal(k_frames(1.0), K_SECONDS)
    assert k_frames(2.0).shape == (4, 17)
    assert (np.diff(K_SECONDS, axis=0) > 0).all()  # K1 < K2 < K3 < K4 for every class
    assert (K_SECONDS[1] < 0).all() and (K_SECONDS[2] > 0).all()


def test_event_onehot_uses_official_frames_and_clips() -> None:
    events = Annotations.from_lists([1, 1, 2], [999, 10_000_000, 500], [3, 4, 5], [True] * 3, [""] * 3, [1.0] * 3)
    onehot = event_onehot(events, 1, 100, 2.0)
    assert onehot[1, 3] == 1  # floor(2 · 0.999) = 1
    assert onehot[99, 4] == 1  # past the end → last frame, as SoccerNet's evaluator
    assert onehot.sum() == 2  # the half-2 event is not in half 1


def test_spotting_targets_known_answer() -> None:
    targets = spotting_targets(np.array([100, 50]), np.array([2, 9]), chunk_size=240, num_detections=3)
    expected = np.zeros((3, 19), np.float32)
    expected[0, :2] = [1, 50 / 240]
    expected[0, 2 + 9] = 1
    expected[1, :2] = [1, 100 / 240]
    expected[1, 2 + 2] = 1
    np.testing.assert_allclose(targets, expected)
    many = spotting_targets(np.arange(20), np.zeros(20, int), 240, 15)
    assert many[:, 0].sum() == 15  # at most num_detections rows
