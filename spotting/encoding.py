"""CALF's label encodings: per-frame time shifts (segmentation targets) and spotting targets.

The time-shift rules are those of the CALF reference (``oneHotToShifts``), written with array
operations instead of a per-frame Python loop.
"""

from __future__ import annotations

import numpy as np

from collections.abc import Sequence

from spotting.soccernet import NUM_CLASSES, Annotations
from spotting.specs import SOCCERNET_V2

# K in seconds, rows K1 < K2 < 0 < K3 < K4, columns in EVENT_DICTIONARY_V2 order (CALF, SoccerNet-v2).
K_SECONDS = np.array(
    [
        [-100, -98, -20, -40, -96, -5, -8, -93, -99, -31, -75, -10, -97, -75, -20, -84, -18],
        [-50, -49, -10, -20, -48, -3, -4, -46, -50, -15, -37, -5, -49, -38, -10, -42, -9],
        [50, 49, 60, 10, 48, 3, 4, 46, 50, 15, 37, 5, 49, 38, 10, 42, 9],
        [100, 98, 90, 20, 96, 5, 8, 93, 99, 31, 75, 10, 97, 75, 20, 84, 18],
    ],
    dtype=np.float64,
)


# K of a class CALF has no column for (Ball Action's passes and drives come every ~2 s, so the context
# around an event is seconds, not SoccerNet-v2's minutes): do-not-care 2 s before, high for 1 s after.
DEFAULT_K_SECONDS = np.array([-4.0, -2.0, 1.0, 2.0])


def k_seconds(classes: Sequence[str] | None = None) -> np.ndarray:
    """K in seconds ``(4, C)`` for a class list: CALF's column for each SoccerNet-v2 class name,
    :data:`DEFAULT_K_SECONDS` for any other (None: SoccerNet-v2's 17, the table above)."""
    if classes is None:
        return K_SECONDS.copy()
    index = SOCCERNET_V2.class_index
    return np.stack([K_SECONDS[:, index[name]] if name in index else DEFAULT_K_SECONDS for name in classes], axis=1)


def k_frames(framerate: float, classes: Sequence[str] | None = None) -> np.ndarray:
    """K scaled to frames: ``(4, C)`` float64 (see :func:`k_seconds`). Scaling (not repeating) is the whole point."""
    return k_seconds(classes) * float(framerate)


def event_onehot(events: Annotations, half: int, num_frames: int, framerate: float,
                 num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``(num_frames, num_classes)`` uint8 with 1 at each event of ``half`` (frame clipped to the half)."""
    onehot = np.zeros((num_frames, num_classes), dtype=np.uint8)
    mine = events.for_half(half)
    if len(mine):
        frames = np.clip(mine.frames(framerate), 0, num_frames - 1)
        onehot[frames, mine.class_index] = 1
    return onehot


def time_shifts(onehot: np.ndarray, k: np.ndarray) -> np.ndarray:
    """CALF time shifts ``(T, C)`` float64 from a one-hot ``(T, C)`` event array and K ``(4, C)`` in frames.

    Per class: no event → K1 everywhere; one event → ``t - e``; otherwise each frame picks between
    the shift from the previous event ``s1 >= 0`` and to the next one ``s2 < 0`` (with virtual events
    at ``-K4`` and ``T - K1``): s1 if s1 < K3; s2 if s1 >= K4; else s1 if s2 <= K1, else the
    relatively nearer of ``(s1 - K3) / (K4 - K3)`` and ``(K2 - s2) / (K2 - K1)``.
    """
    num_frames, num_classes = onehot.shape
    t = np.arange(num_frames)
    shifts = np.empty((num_frames, num_classes), dtype=np.float64)
    for c in range(num_classes):  # 17 iterations; each is vectorised over frames
        k1, k2, k3, k4 = k[:, c]
        events = np.flatnonzero(onehot[:, c] == 1)
        if events.size == 0:
            shifts[:, c] = k1
            continue
        if events.size == 1:
            shifts[:, c] = t - events[0]
            continue
        anchors = np.concatenate(([-k4], events, [num_frames - k1]))
        previous = np.searchsorted(anchors, t, side="right") - 1  # last anchor <= t
        s1 = t - anchors[previous]
        s2 = t - anchors[previous + 1]
        nearer_previous = (s1 - k3) / (k4 - k3) < (k2 - s2) / (k2 - k1)
        middle = np.where((s2 <= k1) | nearer_previous, s1, s2)
        shifts[:, c] = np.where(s1 < k3, s1, np.where(s1 < k4, middle, s2))
    return shifts


def spotting_targets(event_frames: np.ndarray, event_classes: np.ndarray, chunk_size: int,
                     num_detections: int, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """YOLO-like targets ``(num_detections, 2 + num_classes)`` for one chunk.

    ``event_frames`` are chunk-local frames of the events to predict (already restricted to the
    chunk's valid centre). Rows ``[1, t / chunk_size, one-hot class]`` in time order, at most
    ``num_detections``; free rows are zero.
    """
    targets = np.zeros((num_detections, 2 + num_classes), dtype=np.float32)
    order = np.argsort(event_frames, kind="stable")[:num_detections]
    n = order.size
    targets[:n, 0] = 1.0
    targets[:n, 1] = event_frames[order] / chunk_size
    targets[np.arange(n), 2 + event_classes[order]] = 1.0
    return targets
