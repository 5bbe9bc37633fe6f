"""Detection scores → events: per-class suppression (hard or soft NMS), refinement on the
segmentation curves, then confidence thresholds — all set by one :class:`SpottingConfig`.

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
from spotting.suppression import SUPPRESSIONS, nms_dense, score_decay, suppress, window_radius

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
        if isinstance(info.get("postprocessing"), dict) and isinstance(info["postprocessing"].get("refinement"), dict):
            saved = info["postprocessing"]["refinement"]  # saved with the rest of the post-processing settings
        if not isinstance(saved, dict):
            return cls.uniform(num_classes=num_classes)
        window, offset = saved.get("window_s"), saved.get("offset_s")
        if not (isinstance(window, list) and isinstance(offset, list) and len(window) == len(offset) == num_classes):
            return cls.uniform(num_classes=num_classes)
        return cls(tuple(float(v) for v in window), tuple(float(v) for v in offset))


def _pairs(values) -> tuple[tuple[int, float], ...]:
    """Per-class overrides as sorted ``((class index, value), ...)`` (a dict or pairs in)."""
    return tuple(sorted((int(k), float(v)) for k, v in dict(values or {}).items()))


@dataclass(frozen=True)
class SpottingConfig:
    """Every post-processing setting, passed whole: scores → events.

    Plain data (numbers, strings, tuples), hashable, and stored in a checkpoint as
    ``info["postprocessing"]`` (:meth:`to_dict` / :meth:`from_checkpoint_info`). The per-class
    overrides may be given as dicts; they are kept as sorted ``(class index, value)`` pairs.
    """

    threshold: float = 0.0  # global confidence threshold
    class_thresholds: tuple[tuple[int, float], ...] = ()  # class index → override
    nms_window_s: float = DEFAULT_NMS_WINDOW_S  # total width of the NMS window
    class_nms_windows_s: tuple[tuple[int, float], ...] = ()  # class index → override
    suppression: str = "hard"  # one of SUPPRESSIONS: hard NMS, or soft-NMS with a linear or Gaussian decay
    soft_sigma: float = 0.5  # the Gaussian decay's sigma (Bodla et al.'s default)
    refinement: Refinement = field(default_factory=Refinement)  # positions on the segmentation curves

    def __post_init__(self) -> None:
        object.__setattr__(self, "class_thresholds", _pairs(self.class_thresholds))
        object.__setattr__(self, "class_nms_windows_s", _pairs(self.class_nms_windows_s))
        object.__setattr__(self, "threshold", float(self.threshold))
        object.__setattr__(self, "nms_window_s", float(self.nms_window_s))
        object.__setattr__(self, "soft_sigma", float(self.soft_sigma))
        if self.suppression not in SUPPRESSIONS:
            raise ValueError(f"unknown suppression {self.suppression!r}; valid: {', '.join(SUPPRESSIONS)}")
        if self.soft_sigma <= 0:
            raise ValueError(f"soft_sigma must be > 0, not {self.soft_sigma}")

    def nms_windows(self, num_classes: int) -> np.ndarray:
        """``(C,)`` NMS window of each class, seconds."""
        return per_class_values(self.nms_window_s, dict(self.class_nms_windows_s), num_classes)

    def decay(self):
        """The score decay of :attr:`suppression` (see :func:`suppress`)."""
        return score_decay(self.suppression, self.soft_sigma)

    def to_dict(self) -> dict:
        """Plain data for ``info["postprocessing"]`` (loads with ``weights_only=True``)."""
        return {"threshold": self.threshold, "class_thresholds": {str(k): v for k, v in self.class_thresholds},
                "nms_window_s": self.nms_window_s,
                "class_nms_windows_s": {str(k): v for k, v in self.class_nms_windows_s},
                "suppression": self.suppression, "soft_sigma": self.soft_sigma,
                "refinement": self.refinement.to_dict()}

    @classmethod
    def from_checkpoint_info(cls, info: dict, spec: Specifications | None = None) -> "SpottingConfig":
        """The checkpoint's calibrated settings (``info["postprocessing"]``); a checkpoint saved before
        them gets its task's default NMS window and its calibrated ``info["refinement"]`` (or the default)."""
        from spotting.specs import SOCCERNET_V2

        spec = spec or SOCCERNET_V2
        refinement = Refinement.from_checkpoint_info(info, spec.num_classes)
        legacy = cls(nms_window_s=default_nms_window_s(spec), refinement=refinement)
        saved = info.get("postprocessing")
        if not isinstance(saved, dict):
            return legacy
        try:
            return cls(threshold=float(saved.get("threshold", 0.0)),
                       class_thresholds=dict(saved.get("class_thresholds") or {}),
                       nms_window_s=float(saved.get("nms_window_s", legacy.nms_window_s)),
                       class_nms_windows_s=dict(saved.get("class_nms_windows_s") or {}),
                       suppression=str(saved.get("suppression", "hard")),
                       soft_sigma=float(saved.get("soft_sigma", 0.5)), refinement=refinement)
        except (TypeError, ValueError, AttributeError):  # damaged or from a newer version: the legacy reading
            return legacy


def describe_suppression(settings: SpottingConfig, classes: tuple[str, ...], short: bool = False) -> str:
    """One line: the suppression kind, then the windows, the most common first —
    ``linear soft-NMS: 60 s for 13 classes; Throw-in 30 s; Corner 40 s; ...`` (``short``: ``linear
    soft-NMS, 5–60 s by class``)."""
    windows = settings.nms_windows(len(classes))[: len(classes)]
    values, counts = np.unique(windows, return_counts=True)
    common = float(values[counts.argmax()])
    kind = "hard NMS" if settings.suppression == "hard" else f"{settings.suppression} soft-NMS"
    if short:
        return f"{kind}, " + (f"{values[0]:g}–{values[-1]:g} s by class" if len(values) > 1 else f"{common:g} s")
    others = "; ".join(f"{name} {w:g} s" for name, w in zip(classes, windows) if w != common)
    many = int(counts.max())
    return (f"{kind}: {common:g} s" + (f" for {many} classes" if others else " for every class")
            + (f"; {others}" if others else ""))


def default_nms_window_s(spec: Specifications) -> float:
    """The NMS window a task starts from: CALF's 20 s for a set scored by loose Average-mAP (SoccerNet-v2);
    otherwise twice the smallest tolerance of its metric (Ball Action's mAP@1: 2 s, so an event suppresses
    its class within ±1 s), since its actions come seconds apart and a wider window would suppress true ones."""
    if spec.metric == "loose":
        return DEFAULT_NMS_WINDOW_S
    return 2.0 * float(min(metric_deltas(spec.metric)))


def default_refinement(spec: Specifications) -> Refinement:
    """The refinement a task starts from (before calibration): the uniform default for a loose-scored
    set, the spotting head's positions (no move) for a tight one, where 15 s windows would jump between
    neighbouring actions."""
    return Refinement.uniform(num_classes=spec.num_classes) if spec.metric == "loose" else \
        Refinement.uniform(0.0, 0.0, spec.num_classes)


def default_settings(spec: Specifications) -> SpottingConfig:
    """The task's post-processing before calibration (training's validation, calibration's starting point):
    its default NMS window, hard NMS, its default refinement."""
    return SpottingConfig(nms_window_s=default_nms_window_s(spec), refinement=default_refinement(spec))


def per_class_values(default: float, overrides: dict[int, float] | None, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """``(C,)``: the global value with the per-class overrides applied; C is ``num_classes``, widened to
    the largest class index overridden."""
    num_classes = max(num_classes, *(int(i) + 1 for i in (overrides or {0: 0})))
    values = np.full(num_classes, float(default))
    for index, value in (overrides or {}).items():
        values[int(index)] = float(value)
    return values


def nms_events(events: Annotations, settings: SpottingConfig | None = None, framerate: float = 2.0) -> Annotations:
    """The settings' suppression (default: :class:`SpottingConfig`'s) on any event list (e.g. a loaded
    ``results_spotting.json``), per half, on frames at ``framerate`` (soft-NMS: with the decayed confidences)."""
    settings = settings or SpottingConfig()
    if len(events) == 0:
        return events
    radius = window_radius(settings.nms_windows(int(events.class_index.max()) + 1), framerate)
    # Halves never suppress each other: put them far apart on one frame axis.
    frames = events.frames(framerate)
    frames = frames + (events.half - 1) * (int(frames.max()) + 2 * int(radius.max()) + 2)
    keep, scores = suppress(frames, events.class_index, events.confidence, radius, settings.suppression,
                            settings.soft_sigma)
    if settings.suppression != "hard":
        events = Annotations(events.half, events.position_ms, events.class_index, events.visible, events.team, scores)
    return events.select(keep)


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


def candidate_events(scores, settings: SpottingConfig | None = None) -> Annotations:
    """The settings' suppression over each half's detection scores (``GameScores``), at the spotting
    head's positions."""
    settings = settings or SpottingConfig()
    parts = []
    for half, half_scores in sorted(scores.halves.items()):
        detection = half_scores.detection  # (T, C)
        r = window_radius(settings.nms_windows(detection.shape[1]), half_scores.framerate)
        if settings.suppression == "hard":
            kept = np.where(nms_dense(detection, r), detection, 0)
        else:
            frames, classes = np.nonzero(detection > 0)
            keep, decayed = suppress(frames, classes, detection[frames, classes], r, settings.suppression,
                                     settings.soft_sigma)
            kept = np.zeros_like(detection)
            kept[frames[keep], classes[keep]] = decayed[keep]
        parts.append(detection_events(kept, half, half_scores.framerate))
    return Annotations.concatenate(parts)


def refined_events(candidates: Annotations, scores, settings: SpottingConfig | None = None) -> Annotations:
    """:func:`candidate_events` moved by the settings' refinement, then suppressed again (moved events
    may meet)."""
    settings = settings or SpottingConfig()
    if len(candidates) == 0 or not any(w > 0 for w in settings.refinement.window_s):
        return candidates
    framerate = next(iter(scores.halves.values())).framerate
    refined = refine_positions(candidates, scores, settings.refinement)
    return nms_events(refined, settings, framerate=framerate)


def detect_events(scores, settings: SpottingConfig | None = None) -> Annotations:
    """Suppression over each half's detection scores (``GameScores``), positions refined on the
    segmentation curves (``Refinement.uniform(0)`` keeps the spotting head's), suppression again; no
    threshold. ``settings`` whole (default: :class:`SpottingConfig`'s defaults)."""
    settings = settings or SpottingConfig()
    return refined_events(candidate_events(scores, settings), scores, settings)


def apply_thresholds(events: Annotations, threshold: float = 0.0,
                     class_thresholds: dict[int, float] | None = None) -> Annotations:
    """Keep events whose confidence is >= their class's threshold."""
    if len(events) == 0:
        return events
    per_class = per_class_values(threshold, class_thresholds, int(events.class_index.max()) + 1)
    return events.select(events.confidence >= per_class[events.class_index])


def spot_events(scores, settings: SpottingConfig) -> Annotations:
    """Detection scores → thresholded events, every step set by ``settings``."""
    events = detect_events(scores, settings)
    return apply_thresholds(events, settings.threshold, dict(settings.class_thresholds))
