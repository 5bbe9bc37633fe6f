"""Average-mAP for action spotting, equal to SoccerNet's official evaluator, from in-memory events.

Credit: the metric, its constants and every detail reproduced here come from SoccerNet's
``SoccerNet.Evaluation.ActionSpotting.evaluate`` / ``average_mAP`` (SoccerNet pip package 0.2.0,
Giancola, Deliège et al., https://github.com/SoccerNet/sn-spotting). This is a pure-numpy,
vectorised re-implementation (see :mod:`spotting.metrics_core`) that gives the same numbers
(|difference| <= 1e-9, in practice bit-equal) about two orders of magnitude faster, and works on
:class:`~spotting.soccernet.Annotations` instead of files.

Reproduced on purpose, including the quirks:

* each half is a fixed ``120 * 60 * framerate``-frame vector: events past it are clipped to its last
  frame; two events on the same (half, frame, class) keep only the last one written (input order);
  negative or NaN confidences count as "no prediction";
* a "not shown" label is a -1 target; each prediction takes the visibility of the nearest ground
  truth of its class in its half (-1 when that class has none there);
* per tolerance δ, ground truths take, in frame order, the highest-scoring untaken prediction within
  ``±δ·framerate/2`` frames; TP/FP at 200 thresholds ``linspace(0, 1, 200)``; 11-point interpolated
  AP (``nan_to_num`` of 0/0 = 0); mAP = mean over the C classes of the set (classes without
  ground truth count as 0); Average-mAP = trapezoid over δ / (number of δ - 1); the overall unshown
  figure is rescaled by 17/13 — whatever the class set: the official code hard-codes SoccerNet-v2's
  ratio (4 of its 17 classes are never unshown) — except for single-tolerance metrics
  (``at1``..``at5``, ``at1`` being the Ball Action challenge's mAP@1), which the official code returns
  unaveraged and unrescaled.

The class set is ``num_classes`` wide (``EVENT_DICTIONARY``'s length; ``None`` = SoccerNet-v2's 17);
``framerate`` is the evaluation grid (SoccerNet-v2: 2, Ball Action Spotting: 25).

Tolerances are the official δ in seconds (the full window width): a prediction matches a ground
truth within ± δ/2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spotting.average_precision import (THRESHOLDS, eleven_point_ap, matched_pr_counts, pr_counts, precision_recall,
                                        trapezoid_average)
from spotting.metrics_core import (SparseEvents, closest_visibility, concatenate_games, encode, entry_key, match,
                                   true_positive_flags)
from spotting.soccernet import Annotations
from spotting.specs import SOCCERNET_V2

METRIC_DELTAS_S: dict[str, np.ndarray] = {
    "loose": np.arange(12) * 5 + 5,
    "tight": np.arange(5) * 1 + 1,
    **{f"at{k}": np.array([k]) for k in range(1, 6)},
}
METRICS: tuple[str, ...] = tuple(METRIC_DELTAS_S)
# SoccerNet's average_mAP multiplies the unshown Average-mAP by 17/13 for every class set (written for
# SoccerNet-v2, where 4 of the 17 classes are never "not shown"); kept so the figures equal evaluate().
OFFICIAL_UNSHOWN_RESCALE = (17, 13)


def class_count(num_classes: int | None) -> int:
    """``num_classes``, or SoccerNet-v2's 17 when None (the default set)."""
    if num_classes is None:
        return SOCCERNET_V2.num_classes
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return int(num_classes)


def metric_deltas(metric: str) -> np.ndarray:
    """Tolerances δ (seconds) of a metric name: ``loose`` (5..60), ``tight`` (1..5), ``at1``..``at5``."""
    if metric not in METRIC_DELTAS_S:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}")
    return METRIC_DELTAS_S[metric]


@dataclass(frozen=True)
class SpottingMetrics:
    """Average-mAP figures; the ``a_mAP*`` fields mean exactly what SoccerNet's ``evaluate()`` returns."""

    metric: str
    deltas_s: np.ndarray  # (D,) tolerances δ in seconds
    a_mAP: float
    a_mAP_per_class: np.ndarray  # (C,)
    a_mAP_visible: float
    a_mAP_per_class_visible: np.ndarray  # (C,)
    a_mAP_unshown: float  # rescaled by 17/13 when D > 1, as officially (whatever C)
    a_mAP_per_class_unshown: np.ndarray  # (C,)
    mAP_per_delta: np.ndarray  # (D,) mAP at each δ (the curve the Average integrates)
    mAP_visible_per_delta: np.ndarray  # (D,)
    mAP_unshown_per_delta: np.ndarray  # (D,) not rescaled
    mAP_per_class_per_delta: np.ndarray  # (D, C)
    num_games: int
    num_labels_visible: np.ndarray  # (C,) ground-truth entries (after the official same-frame merge)
    num_labels_unshown: np.ndarray  # (C,)
    num_predictions: np.ndarray  # (C,) predictions evaluated (after merge, confidence >= 0)
    framerate: float = 2.0  # the evaluation grid's frames per second

    @property
    def num_classes(self) -> int:
        """C, the class set's size these figures were computed for."""
        return int(self.a_mAP_per_class.shape[0])

    def to_dict(self) -> dict:
        """The dict ``SoccerNet.Evaluation.ActionSpotting.evaluate`` returns, with plain floats/lists."""
        return {
            "a_mAP": float(self.a_mAP),
            "a_mAP_per_class": [float(v) for v in self.a_mAP_per_class],
            "a_mAP_visible": float(self.a_mAP_visible),
            "a_mAP_per_class_visible": [float(v) for v in self.a_mAP_per_class_visible],
            "a_mAP_unshown": float(self.a_mAP_unshown),
            "a_mAP_per_class_unshown": [float(v) for v in self.a_mAP_per_class_unshown],
        }


@dataclass(frozen=True)
class _Evaluated:
    """Matched events of some games at some tolerances."""

    labels: SparseEvents
    predictions: SparseEvents
    closest: np.ndarray  # (P,) +1 / -1
    taken_by: np.ndarray  # (D, M) prediction index taken by each ground truth, -1 when none
    true_positive: np.ndarray  # (D, P) bool


def _encode_games(labels: Sequence[Annotations], predictions: Sequence[Annotations],
                  framerate: float, num_classes: int) -> tuple[SparseEvents, SparseEvents]:
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} label lists but {len(predictions)} prediction lists: pass one of each per game")
    return (encode(*concatenate_games(labels), framerate=framerate, is_labels=True, num_classes=num_classes),
            encode(*concatenate_games(predictions), framerate=framerate, is_labels=False, num_classes=num_classes))


def _evaluate(labels: Sequence[Annotations], predictions: Sequence[Annotations], delta_frames: np.ndarray,
              framerate: float, num_classes: int) -> _Evaluated:
    gt, pred = _encode_games(labels, predictions, framerate, num_classes)
    taken_by = match(gt, pred, delta_frames, framerate)
    return _Evaluated(gt, pred, closest_visibility(gt, pred, framerate), taken_by,
                      true_positive_flags(taken_by, len(pred)))


def _class_counts(events: SparseEvents, mask: np.ndarray | None = None) -> np.ndarray:
    classes = events.class_index if mask is None else events.class_index[mask]
    return np.bincount(classes, minlength=events.num_classes).astype(np.int64)


def average_map(labels: Sequence[Annotations], predictions: Sequence[Annotations], metric: str = "loose",
                framerate: float = 2.0, num_classes: int | None = None) -> SpottingMetrics:
    """SoccerNet's Average-mAP over games: ``labels[i]`` and ``predictions[i]`` are game *i*.

    Equal to ``SoccerNet.Evaluation.ActionSpotting.evaluate(..., framerate=framerate, metric=metric,
    EVENT_DICTIONARY=<a set of num_classes classes>)`` on the same events (see the module docstring
    for the official details reproduced). ``num_classes`` None is SoccerNet-v2's 17.
    """
    deltas = metric_deltas(metric)
    num_deltas = len(deltas)
    num_classes = class_count(num_classes)
    gt, pred = _encode_games(labels, predictions, framerate, num_classes)
    taken_by = match(gt, pred, deltas * framerate, framerate)
    # A prediction's closest action is visible (+1) or not (-1, also "no action"): the official
    # visible (> 0.5) and unshown (< -0.5) sets split the predictions in two, so "all" is their sum.
    visible_pred = (closest_visibility(gt, pred, framerate) > 0.5).astype(np.int64)
    tp, detections = matched_pr_counts(pred.class_index, pred.value, taken_by, visible_pred, 2,
                                       num_classes)  # (D, 2, 200, C)
    tp = np.stack([tp[:, 0] + tp[:, 1], tp[:, 1], tp[:, 0]])  # (3, D, 200, C): all, visible, unshown
    detections = np.stack([detections[0] + detections[1], detections[1], detections[0]])[:, None]
    visible_gt = _class_counts(gt, gt.value > 0)
    unshown_gt = _class_counts(gt, gt.value < 0)
    num_gt = np.stack([visible_gt + unshown_gt, visible_gt, unshown_gt])[:, None, None]  # (3, 1, 1, C)
    ap = eleven_point_ap(*precision_recall(tp, detections, num_gt))  # (3, D, C)
    # np.mean along the contiguous last axis sums each (C,) row pairwise, exactly as the official
    # np.mean of one row does (checked bit-equal).
    m = np.mean(ap, axis=-1)  # (3, D)
    # One trapezoid pass over every curve at once: columns are independent, the order per column official.
    curves = np.concatenate([m.T, ap.transpose(1, 0, 2).reshape(num_deltas, -1)], axis=1)  # (D, 3 + 3*C)
    average = np.asarray(trapezoid_average(curves))
    a_m, a_ap = average[:3], average[3:].reshape(3, num_classes)
    top, bottom = OFFICIAL_UNSHOWN_RESCALE
    a_unshown = a_m[2] * top / bottom if num_deltas > 1 else a_m[2]
    return SpottingMetrics(
        metric=metric, deltas_s=np.asarray(deltas, dtype=np.float64),
        a_mAP=float(a_m[0]), a_mAP_per_class=a_ap[0],
        a_mAP_visible=float(a_m[1]), a_mAP_per_class_visible=a_ap[1],
        a_mAP_unshown=float(a_unshown), a_mAP_per_class_unshown=a_ap[2],
        mAP_per_delta=m[0], mAP_visible_per_delta=m[1], mAP_unshown_per_delta=m[2],
        mAP_per_class_per_delta=ap[0], num_games=len(labels),
        num_labels_visible=visible_gt, num_labels_unshown=unshown_gt,
        num_predictions=_class_counts(pred), framerate=float(framerate),
    )


def class_thresholds(threshold: float | np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """``(C,)`` per-class thresholds from a number or a ``(C,)`` array (C = ``num_classes``, None: 17)."""
    num_classes = class_count(num_classes)
    values = np.asarray(threshold, dtype=np.float64)
    if values.ndim == 0:
        return np.full(num_classes, float(values))
    if values.shape != (num_classes,):
        raise ValueError(f"threshold must be a number or a ({num_classes},) per-class array, got shape {values.shape}")
    return values.copy()


def _ratio(numerator: np.ndarray | int, denominator: np.ndarray | int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(np.asarray(numerator, dtype=np.float64) / denominator)


@dataclass(frozen=True)
class GameFigures:
    """Quick figures of one game at one tolerance and one confidence threshold (per class).

    A prediction counts at the threshold when ``confidence >= threshold[class]``. TP/FP/FN use the
    official matching of all predictions, which matches the kept ones exactly as matching only the
    kept ones would (``match_events`` on thresholded predictions), except when a dropped prediction
    had overwritten a kept one on the same frame and class. Ratios with a zero denominator are 0, as
    officially.
    """

    tolerance_s: float  # official δ (window width): match within ± δ/2
    threshold: np.ndarray  # (C,) per-class confidence threshold used
    ap: np.ndarray  # (C,) official 200-threshold 11-point AP at this tolerance; 0 without labels
    tp: np.ndarray  # (C,) int64 at the threshold
    fp: np.ndarray  # (C,) int64
    fn: np.ndarray  # (C,) int64 ground truths not matched by a kept prediction
    precision: np.ndarray  # (C,)
    recall: np.ndarray  # (C,)
    num_labels: np.ndarray  # (C,) int64 ground-truth entries
    num_predictions: np.ndarray  # (C,) int64 predictions evaluated (any confidence >= 0)
    curve_tp: np.ndarray  # (200, C) int64 TP at each official threshold
    curve_detections: np.ndarray  # (200, C) int64 predictions at each official threshold

    @property
    def mAP(self) -> float:
        """Official-style mean over all C classes (classes without labels count as 0)."""
        return float(np.mean(self.ap))

    @property
    def tp_total(self) -> int:
        return int(self.tp.sum())

    @property
    def fp_total(self) -> int:
        return int(self.fp.sum())

    @property
    def fn_total(self) -> int:
        return int(self.fn.sum())

    @property
    def precision_total(self) -> float:
        return float(_ratio(self.tp_total, self.tp_total + self.fp_total))

    @property
    def recall_total(self) -> float:
        return float(_ratio(self.tp_total, self.num_labels.sum()))

    def pr_curve(self, class_index: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(thresholds, precision, recall)``, each ``(200,)``, at the official thresholds; for one
        class, or pooled over all classes when ``class_index`` is None."""
        if class_index is None:
            tp, det, num_gt = self.curve_tp.sum(axis=1), self.curve_detections.sum(axis=1), self.num_labels.sum()
        else:
            tp, det, num_gt = (self.curve_tp[:, class_index], self.curve_detections[:, class_index],
                               self.num_labels[class_index])
        return THRESHOLDS.copy(), _ratio(tp, det), _ratio(tp, num_gt)


def game_figures(labels: Annotations, predictions: Annotations, tolerance_s: float, threshold: float | np.ndarray,
                 framerate: float = 2.0, num_classes: int | None = None) -> GameFigures:
    """Per-class AP at ``tolerance_s`` (official δ) and TP/FP/FN/precision/recall at ``threshold``
    (a number or a ``(C,)`` per-class array) for one game."""
    num_classes = class_count(num_classes)
    class_threshold = class_thresholds(threshold, num_classes)
    ev = _evaluate([labels], [predictions], np.array([tolerance_s * framerate]), framerate, num_classes)
    num_gt = _class_counts(ev.labels)
    curve_tp, curve_det = pr_counts(ev.predictions.class_index, ev.predictions.value, ev.true_positive, num_classes)
    ap = eleven_point_ap(*precision_recall(curve_tp, curve_det, num_gt))[0]
    classes = ev.predictions.class_index
    kept = ev.predictions.value >= class_threshold[classes]
    tp = np.bincount(classes[kept & ev.true_positive[0]], minlength=num_classes).astype(np.int64)
    fp = np.bincount(classes[kept & ~ev.true_positive[0]], minlength=num_classes).astype(np.int64)
    return GameFigures(
        tolerance_s=float(tolerance_s), threshold=class_threshold, ap=ap, tp=tp, fp=fp, fn=num_gt - tp,
        precision=_ratio(tp, tp + fp), recall=_ratio(tp, num_gt), num_labels=num_gt,
        num_predictions=_class_counts(ev.predictions), curve_tp=curve_tp[0], curve_detections=curve_det,
    )


@dataclass(frozen=True)
class EventMatch:
    """Which events of one game were matched (official greedy matching at one tolerance)."""

    prediction_matched: np.ndarray  # (P,) bool: a true positive
    label_matched: np.ndarray  # (L,) bool: found by some prediction
    prediction_label: np.ndarray  # (P,) int64: index of the matched label, -1 when none
    label_prediction: np.ndarray  # (L,) int64: index of the matching prediction, -1 when none
    prediction_evaluated: np.ndarray  # (P,) bool: False when overwritten at the same frame/class or confidence < 0


def match_events(labels: Annotations, predictions: Annotations, tolerance_s: float,
                 framerate: float = 2.0, num_classes: int | None = None) -> EventMatch:
    """Official matching of one game at tolerance δ = ``tolerance_s`` (match within ± δ/2).

    Threshold first (e.g. ``apply_thresholds``) to colour what a user sees: the matches among the
    kept predictions are the same as in the official evaluation. Labels merged officially (same
    half, frame and class) share their match.
    """
    num_classes = class_count(num_classes)
    ev = _evaluate([labels], [predictions], np.array([tolerance_s * framerate]), framerate, num_classes)
    taken_by = ev.taken_by[0]  # (M,)
    pred_source, gt_source = ev.predictions.source, ev.labels.source
    prediction_label = np.full(len(predictions), -1, dtype=np.int64)
    matched_gt = np.flatnonzero(taken_by >= 0)
    prediction_label[pred_source[taken_by[matched_gt]]] = gt_source[matched_gt]

    # Every label maps to the merged ground-truth entry of its (half, frame, class).
    label_prediction = np.full(len(labels), -1, dtype=np.int64)
    if len(ev.labels):
        key = entry_key(labels, np.zeros(len(labels), dtype=np.int64), framerate, num_classes)[2]
        valid = np.flatnonzero(key >= 0)
        entry = np.searchsorted(key[gt_source], key[valid])  # entries are sorted by key
        taken = taken_by[entry]
        if pred_source.size:  # with no predictions nothing is taken (and pred_source cannot be indexed)
            label_prediction[valid] = np.where(taken >= 0, pred_source[np.maximum(taken, 0)], -1)
    prediction_evaluated = np.zeros(len(predictions), dtype=bool)
    prediction_evaluated[pred_source] = True
    return EventMatch(prediction_label >= 0, label_prediction >= 0, prediction_label, label_prediction,
                      prediction_evaluated)

