"""Detection scores → events: per-class non-maximum suppression, then confidence thresholds.

Greedy NMS (take the best candidate, suppress its neighbours within the window, repeat) and a
confidence threshold commute: a candidate above the threshold can only be suppressed by a better
one, which is above it too. So NMS runs once per window setting and thresholds are a cheap filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spotting.soccernet import NUM_CLASSES, Annotations

DEFAULT_NMS_WINDOW_S = 20.0


@dataclass
class SpottingConfig:
    threshold: float = 0.0  # global confidence threshold
    class_thresholds: dict[int, float] = field(default_factory=dict)  # class index → override
    nms_window_s: float = DEFAULT_NMS_WINDOW_S  # total width of the NMS window
    class_nms_windows_s: dict[int, float] = field(default_factory=dict)  # class index → override


def per_class_values(default: float, overrides: dict[int, float] | None, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``(num_classes,)``: the global value with the per-class overrides applied."""
    values = np.full(num_classes, float(default))
    for index, value in (overrides or {}).items():
        values[int(index)] = float(value)
    return values


def _sliding_max(values: np.ndarray, radius: int) -> np.ndarray:
    """Max over ``[t - radius, t + radius]`` along axis 0 of ``(T, K)``."""
    if radius <= 0:
        return values.copy()
    padded = np.pad(values, ((radius, radius), (0, 0)), constant_values=-1)
    return np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1, axis=0).max(axis=-1)


def nms_dense(scores: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Greedy per-class NMS on a dense ``(T, K)`` array of candidates (> 0; others are ignored).

    A kept candidate suppresses the same class's candidates with ``|Δframe| <= radius[k]``
    (``radius < 0``: no suppression). Ties go to the earlier frame. Returns a ``(T, K)`` keep mask.
    Runs in rounds: every candidate that is the best remaining one within its window is exactly one
    greedy NMS would keep, so each round keeps all of them at once (a handful of rounds in practice).
    """
    num_frames, num_classes = scores.shape
    cand = np.flatnonzero(scores.ravel() > 0)
    # Unique priorities: higher confidence first, then earlier frame.
    frames = cand // num_classes
    order = np.lexsort((frames, -scores.ravel()[cand]))
    priority = np.zeros(num_frames * num_classes, dtype=np.float64)
    priority[cand[order]] = np.arange(cand.size, 0, -1)
    priority = priority.reshape(num_frames, num_classes)
    keep = np.zeros((num_frames, num_classes), dtype=bool)
    for r in np.unique(radius):
        cols = np.flatnonzero(radius == r)
        alive = priority[:, cols].copy()
        if r < 0:
            keep[:, cols] = alive > 0
            continue
        while (alive > 0).any():
            winners = (alive > 0) & (alive == _sliding_max(alive, int(r)))
            keep[:, cols] |= winners
            suppressed = _sliding_max(winners.astype(np.float64), int(r)) > 0
            alive[suppressed] = 0
    return keep


def window_radius(window_s: np.ndarray, framerate: float) -> np.ndarray:
    """Frames suppressed on each side: neighbours strictly closer than half the window."""
    return np.ceil(np.asarray(window_s, dtype=np.float64) * framerate / 2).astype(np.int64) - 1


def nms_events(events: Annotations, nms_window_s: float = DEFAULT_NMS_WINDOW_S,
               class_nms_windows_s: dict[int, float] | None = None, framerate: float = 2.0) -> Annotations:
    """Per-class NMS on any event list (e.g. a loaded ``results_spotting.json``), on a frame grid."""
    if len(events) == 0:
        return events
    radius = window_radius(per_class_values(nms_window_s, class_nms_windows_s), framerate)
    frames = events.frames(framerate)
    keep_event = radius[events.class_index] < 0  # no window for that class: keep every event
    for half in np.unique(events.half):
        idx = np.flatnonzero(events.half == half)
        grid = np.zeros((int(frames[idx].max()) + 1, NUM_CLASSES))
        # One representative per cell: the most confident event (first on ties).
        order = idx[np.lexsort((np.arange(idx.size), -events.confidence[idx]))]
        cell = frames[order] * NUM_CLASSES + events.class_index[order]
        _, first = np.unique(cell, return_index=True)
        reps = order[first]
        grid[frames[reps], events.class_index[reps]] = np.maximum(events.confidence[reps], 1e-12)
        keep = nms_dense(grid, radius)
        keep_event[reps] |= keep[frames[reps], events.class_index[reps]]
    return events.select(keep_event)


def detection_events(detection: np.ndarray, half: int, framerate: float) -> Annotations:
    """Every non-zero cell of a ``(T, C)`` detection array as an event of ``half``."""
    frames, classes = np.nonzero(detection > 0)
    n = frames.size
    return Annotations.from_lists(
        np.full(n, half), np.round(frames * 1000.0 / framerate), classes, np.ones(n, bool), [""] * n,
        detection[frames, classes],
    )


def detect_events(scores, nms_window_s: float = DEFAULT_NMS_WINDOW_S,
                  class_nms_windows_s: dict[int, float] | None = None) -> Annotations:
    """Per-class NMS over each half's detection scores (``GameScores``); no threshold."""
    parts = []
    for half, half_scores in sorted(scores.halves.items()):
        r = window_radius(per_class_values(nms_window_s, class_nms_windows_s), half_scores.framerate)
        kept = np.where(nms_dense(half_scores.detection, r), half_scores.detection, 0)
        parts.append(detection_events(kept, half, half_scores.framerate))
    return Annotations.concatenate(parts)


def apply_thresholds(events: Annotations, threshold: float = 0.0,
                     class_thresholds: dict[int, float] | None = None) -> Annotations:
    """Keep events whose confidence is >= their class's threshold."""
    if len(events) == 0:
        return events
    per_class = per_class_values(threshold, class_thresholds)
    return events.select(events.confidence >= per_class[events.class_index])


def spot_events(scores, config: SpottingConfig) -> Annotations:
    """Detection scores → thresholded events."""
    events = detect_events(scores, config.nms_window_s, config.class_nms_windows_s)
    return apply_thresholds(events, config.threshold, config.class_thresholds)
