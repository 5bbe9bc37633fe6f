"""Detection scores → events: per-class non-maximum suppression, then confidence thresholds.

Greedy NMS (take the best candidate, suppress its neighbours within the window, repeat) and a
confidence threshold commute: a candidate above the threshold can only be suppressed by a better
one, which is above it too. So NMS runs once per window setting and thresholds are a cheap filter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spotting.metrics import metric_deltas
from spotting.soccernet import NUM_CLASSES, Annotations
from spotting.specs import Specifications

DEFAULT_NMS_WINDOW_S = 20.0
DEFAULT_REFINE_WINDOW_S = 15.0  # chosen on validation games, never on the held-out test games
DEFAULT_REFINE_OFFSET_S = 0.5  # the segmentation convolution sees one frame (0.5 s at 2 fps) ahead


@dataclass(frozen=True)
class Refinement:
    """Per class: move each event to the steepest rise of its segmentation curve within
    ±``window_s`` (0: keep the spotting head's position), then ``offset_s`` later.

    The uniform default suits most classes; :mod:`spotting.calibration` picks each class's setting
    on validation games (a card is annotated seconds after the foul's curve rises) and training
    stores it in the checkpoint (``info["refinement"]``).
    """

    window_s: tuple[float, ...] = (DEFAULT_REFINE_WINDOW_S,) * NUM_CLASSES
    offset_s: tuple[float, ...] = (DEFAULT_REFINE_OFFSET_S,) * NUM_CLASSES

    @classmethod
    def uniform(cls, window_s: float = DEFAULT_REFINE_WINDOW_S, offset_s: float = DEFAULT_REFINE_OFFSET_S,
                num_classes: int = NUM_CLASSES) -> "Refinement":
        """The same setting for every one of ``num_classes`` classes (it also serves any other count)."""
        return cls((float(window_s),) * num_classes, (float(offset_s),) * num_classes)

    def arrays(self, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """``(window_s, offset_s)``, each ``(num_classes,)``: the per-class values when there are that many;
        a uniform setting for any count; otherwise (another class set's) the uniform default."""
        window, offset = np.asarray(self.window_s, np.float64), np.asarray(self.offset_s, np.float64)
        if window.shape == offset.shape == (num_classes,):
            return window, offset
        if window.size and offset.size and (window == window[0]).all() and (offset == offset[0]).all():
            return np.full(num_classes, window[0]), np.full(num_classes, offset[0])
        return np.full(num_classes, DEFAULT_REFINE_WINDOW_S), np.full(num_classes, DEFAULT_REFINE_OFFSET_S)

    def to_dict(self) -> dict:
        return {"window_s": list(self.window_s), "offset_s": list(self.offset_s)}

    @classmethod
    def from_checkpoint_info(cls, info: dict, num_classes: int = NUM_CLASSES) -> "Refinement":
        """The checkpoint's calibrated refinement (one value per class of its ``num_classes``), or the
        uniform default when it has none."""
        saved = info.get("refinement")
        if not isinstance(saved, dict):
            return cls.uniform(num_classes=num_classes)
        window, offset = saved.get("window_s"), saved.get("offset_s")
        if not (isinstance(window, list) and isinstance(offset, list) and len(window) == len(offset) == num_classes):
            return cls.uniform(num_classes=num_classes)
        return cls(tuple(float(v) for v in window), tuple(float(v) for v in offset))


@dataclass
class SpottingConfig:
    threshold: float = 0.0  # global confidence threshold
    class_thresholds: dict[int, float] = field(default_factory=dict)  # class index → override
    nms_window_s: float = DEFAULT_NMS_WINDOW_S  # total width of the NMS window
    class_nms_windows_s: dict[int, float] = field(default_factory=dict)  # class index → override
    refinement: Refinement = field(default_factory=Refinement)  # positions on the segmentation curves


def default_nms_window_s(spec: Specifications) -> float:
    """The NMS window a task starts from: CALF's 20 s for a set scored by loose Average-mAP (SoccerNet-v2);
    otherwise the smallest tolerance of its metric (Ball Action's mAP@1: 1 s), since its actions
    come seconds apart and a wider window would suppress true ones."""
    if spec.metric == "loose":
        return DEFAULT_NMS_WINDOW_S
    return float(min(metric_deltas(spec.metric)))


def default_refinement(spec: Specifications) -> Refinement:
    """The refinement a task starts from (before calibration): the uniform default for a loose-scored
    set, the spotting head's positions (no move) for a tight one, where 15 s windows would jump between
    neighbouring actions."""
    return Refinement.uniform(num_classes=spec.num_classes) if spec.metric == "loose" else \
        Refinement.uniform(0.0, 0.0, spec.num_classes)


def per_class_values(default: float, overrides: dict[int, float] | None, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``(C,)``: the global value with the per-class overrides applied; C is ``num_classes``, widened to
    the largest class index overridden."""
    num_classes = max(num_classes, *(int(i) + 1 for i in (overrides or {0: 0})))
    values = np.full(num_classes, float(default))
    for index, value in (overrides or {}).items():
        values[int(index)] = float(value)
    return values


def _window_max(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``max(values[lo[i]:hi[i]])`` for every i (each window non-empty)."""
    padded = np.append(values, -np.inf)  # reduceat needs every index < len; hi may equal len(values)
    bounds = np.empty(2 * lo.size, dtype=np.int64)
    bounds[0::2], bounds[1::2] = lo, hi
    return np.maximum.reduceat(padded, bounds)[0::2]


def nms_candidates(frames: np.ndarray, classes: np.ndarray, confidence: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Greedy per-class NMS over candidate lists; returns a keep mask in the input order.

    A kept candidate suppresses the same class's candidates with ``|Δframe| <= radius[class]``
    (``radius < 0``: no suppression). Ties go to the earlier frame, then the earlier candidate.
    Runs in rounds: every candidate that is the best remaining one within its window is exactly one
    greedy NMS would keep, so each round keeps all of them at once (a handful of rounds in practice),
    with O(n) work per round on the candidates alone (no dense frame grid).
    """
    n = frames.size
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    r = radius[classes]
    keep[r < 0] = True
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), frames, -confidence))] = np.arange(n)
    priority = (n - rank).astype(np.float64)  # unique, higher = better
    order = np.lexsort((frames, classes))  # grouped by class, in time order
    span = int(frames.max()) + 2 * int(max(r.max(), 0)) + 2
    key = classes[order] * span + frames[order]
    lo = np.searchsorted(key, key - np.maximum(r[order], 0), side="left")
    hi = np.searchsorted(key, key + np.maximum(r[order], 0), side="right")
    alive = np.where(r[order] >= 0, priority[order], 0.0)
    while (alive > 0).any():
        winners = (alive > 0) & (alive == _window_max(alive, lo, hi))
        keep[order[winners]] = True
        alive[_window_max(winners.astype(np.float64), lo, hi) > 0] = 0.0
    return keep


def nms_dense(scores: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """:func:`nms_candidates` on a dense ``(T, K)`` array of candidates (> 0); a ``(T, K)`` keep mask."""
    frames, classes = np.nonzero(scores > 0)
    keep = np.zeros(scores.shape, dtype=bool)
    keep[frames, classes] = nms_candidates(frames, classes, scores[frames, classes], radius)
    return keep


def window_radius(window_s: np.ndarray, framerate: float) -> np.ndarray:
    """Frames suppressed on each side: neighbours strictly closer than half the window."""
    return np.ceil(np.asarray(window_s, dtype=np.float64) * framerate / 2).astype(np.int64) - 1


def nms_events(events: Annotations, nms_window_s: float = DEFAULT_NMS_WINDOW_S,
               class_nms_windows_s: dict[int, float] | None = None, framerate: float = 2.0) -> Annotations:
    """Per-class NMS on any event list (e.g. a loaded ``results_spotting.json``), per half, on frames."""
    if len(events) == 0:
        return events
    radius = window_radius(per_class_values(nms_window_s, class_nms_windows_s, int(events.class_index.max()) + 1),
                           framerate)
    # Halves never suppress each other: put them far apart on one frame axis.
    frames = events.frames(framerate)
    frames = frames + (events.half - 1) * (int(frames.max()) + 2 * int(radius.max()) + 2)
    return events.select(nms_candidates(frames, events.class_index, events.confidence, radius))


def detection_events(detection: np.ndarray, half: int, framerate: float) -> Annotations:
    """Every non-zero cell of a ``(T, C)`` detection array as an event of ``half``."""
    frames, classes = np.nonzero(detection > 0)
    n = frames.size
    return Annotations.from_lists(
        np.full(n, half), np.round(frames * 1000.0 / framerate), classes, np.ones(n, bool), [""] * n,
        detection[frames, classes],
    )


def refine_positions(events: Annotations, scores, refinement: Refinement | None = None) -> Annotations:
    """Move each event to the steepest rise of its class's segmentation curve (see :class:`Refinement`).

    CALF's spotting head places events only roughly inside its 2-minute chunk, while the
    segmentation score, trained to be high from the event on (``[0, K3)``), rises sharply right at
    it. On held-out synthetic games this lifts tight Average-mAP from ~0.2 to ~0.5, and to ~0.6 with
    per-class settings calibrated on validation games (see README).
    """
    refinement = refinement or Refinement()
    if len(events) == 0 or not scores.halves:
        return events
    num_classes = next(iter(scores.halves.values())).segmentation.shape[1]
    window_s, offset_s = refinement.arrays(num_classes)
    if not (window_s > 0).any():
        return events
    position = events.position_ms.copy()
    for half, half_scores in scores.halves.items():
        idx = np.flatnonzero(events.half == half)
        if idx.size == 0:
            continue
        segmentation = half_scores.segmentation  # (T, C)
        num_frames, framerate = segmentation.shape[0], half_scores.framerate
        classes = events.class_index[idx]
        radius = np.round(window_s * framerate).astype(np.int64)[classes]  # (E,)
        steps = np.arange(-int(radius.max()), int(radius.max()) + 1)
        frames = np.clip(events.select(idx).frames(framerate), 0, num_frames - 1)
        window = frames[:, None] + steps  # (E, W)
        inside = (window >= 0) & (window < num_frames) & (np.abs(steps) <= radius[:, None])
        window = np.clip(window, 0, num_frames - 1)
        # The curve is 0 before the half starts, so a curve already high at frame 0 rises there
        # (the kick-off at 0:00).
        before = np.vstack((np.zeros((1, segmentation.shape[1]), segmentation.dtype), segmentation))
        rise = before[window + 1, classes[:, None]] - before[window, classes[:, None]]
        rise = np.where(inside, rise, -np.inf)
        shift = np.round(offset_s * framerate).astype(np.int64)[classes]
        refined = np.clip(window[np.arange(idx.size), rise.argmax(axis=1)] + shift, 0, num_frames - 1)
        moves = (rise.max(axis=1) > 0) & (radius > 0)  # a flat or falling curve says nothing: keep the head's position
        position[idx[moves]] = np.round(refined[moves] * 1000.0 / framerate)
    return Annotations(events.half, position, events.class_index, events.visible, events.team, events.confidence)


def candidate_events(scores, nms_window_s: float = DEFAULT_NMS_WINDOW_S,
                     class_nms_windows_s: dict[int, float] | None = None) -> Annotations:
    """Per-class NMS over each half's detection scores (``GameScores``), at the spotting head's positions."""
    parts = []
    for half, half_scores in sorted(scores.halves.items()):
        num_classes = half_scores.detection.shape[1]
        r = window_radius(per_class_values(nms_window_s, class_nms_windows_s, num_classes), half_scores.framerate)
        kept = np.where(nms_dense(half_scores.detection, r), half_scores.detection, 0)
        parts.append(detection_events(kept, half, half_scores.framerate))
    return Annotations.concatenate(parts)


def refined_events(candidates: Annotations, scores, nms_window_s: float = DEFAULT_NMS_WINDOW_S,
                   class_nms_windows_s: dict[int, float] | None = None,
                   refinement: Refinement | None = None) -> Annotations:
    """:func:`candidate_events` moved by the refinement, then NMS again (moved events may meet)."""
    refinement = refinement or Refinement()
    if len(candidates) == 0 or not any(w > 0 for w in refinement.window_s):
        return candidates
    framerate = next(iter(scores.halves.values())).framerate
    refined = refine_positions(candidates, scores, refinement)
    return nms_events(refined, nms_window_s, class_nms_windows_s, framerate)


def detect_events(scores, nms_window_s: float = DEFAULT_NMS_WINDOW_S,
                  class_nms_windows_s: dict[int, float] | None = None,
                  refinement: Refinement | None = None) -> Annotations:
    """Per-class NMS over each half's detection scores (``GameScores``), positions refined on the
    segmentation curves (``Refinement.uniform(0)`` keeps the spotting head's), NMS again; no threshold."""
    candidates = candidate_events(scores, nms_window_s, class_nms_windows_s)
    return refined_events(candidates, scores, nms_window_s, class_nms_windows_s, refinement)


def apply_thresholds(events: Annotations, threshold: float = 0.0,
                     class_thresholds: dict[int, float] | None = None) -> Annotations:
    """Keep events whose confidence is >= their class's threshold."""
    if len(events) == 0:
        return events
    per_class = per_class_values(threshold, class_thresholds, int(events.class_index.max()) + 1)
    return events.select(events.confidence >= per_class[events.class_index])


def spot_events(scores, config: SpottingConfig) -> Annotations:
    """Detection scores → thresholded events."""
    events = detect_events(scores, config.nms_window_s, config.class_nms_windows_s, config.refinement)
    return apply_thresholds(events, config.threshold, config.class_thresholds)
