"""Split-level figures for several models: per game, per class, where and how each model fails.

Pure numpy on :class:`~spotting.soccernet.Annotations` (no Streamlit): the split explorer page and
``python -m spotting.evaluate`` compose these calls. Every function takes the games of a split at
once (``labels[g]`` and ``predictions[g]`` are game *g*) and evaluates them in one vectorised pass
with SoccerNet's official encoding and greedy matching (:mod:`spotting.metrics_core`):

* :func:`per_game_average_map` — each game's Average-mAP, equal to SoccerNet's ``evaluate()`` run
  on that game alone;
* :func:`match_split` / :func:`match_counts` — TP / FP / FN at a tolerance δ and a confidence
  threshold, per game and class; :func:`timing_errors` of the matched predictions;
  :func:`class_confusion` of the false alarms; :func:`pr_curves` pooled over the split.

Tolerances are the official δ in seconds (a full window): a prediction matches a ground truth within
± δ/2, i.e. ``|frame difference| <= floor(δ · framerate / 2)`` on the evaluation grid (SoccerNet-v2:
2 fps, Ball Action Spotting: 25 fps). Every function takes the class count ``num_classes`` of the set
the events index (``None``: SoccerNet-v2's 17); per-class arrays are ``(C,)``. A
prediction is *kept* at a threshold when ``confidence >= threshold[class]``. Events are counted as
the official dense vectors hold them: labels or predictions on the same (half, frame, class) are one
entry (the last one written), predictions with a negative or NaN confidence are none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spotting.metrics import class_count, metric_deltas
from spotting.metrics import class_thresholds as _class_thresholds
from spotting.average_precision import RECALL_POINTS, THRESHOLDS, pr_counts, precision_recall, trapezoid_average
from spotting.metrics_core import SparseEvents, concatenate_games, encode, match, true_positive_flags, vector_size
from spotting.soccernet import Annotations



# ---------------------------------------------------------------- Average-mAP of every game at once

def _encode(labels: Sequence[Annotations], predictions: Sequence[Annotations],
            framerate: float, num_classes: int) -> tuple[SparseEvents, SparseEvents, Annotations, Annotations]:
    if len(labels) != len(predictions):
        raise ValueError(f"{len(labels)} label lists but {len(predictions)} prediction lists: "
                         "pass one of each per game")
    label_events, label_game = concatenate_games(labels)
    prediction_events, prediction_game = concatenate_games(predictions)
    gt = encode(label_events, label_game, framerate=framerate, is_labels=True, num_classes=num_classes)
    pred = encode(prediction_events, prediction_game, framerate=framerate, is_labels=False, num_classes=num_classes)
    return gt, pred, label_events, prediction_events


def _game_class(events: SparseEvents) -> np.ndarray:
    """``(N,)`` pseudo-class ``game * C + class`` of each entry."""
    return events.game * events.num_classes + events.class_index


def _per_game_class(values: np.ndarray, num_games: int, num_classes: int) -> np.ndarray:
    """``(G, C)`` int64 counts of pseudo-classes ``game * C + class``."""
    return np.bincount(values, minlength=num_games * num_classes).astype(np.int64).reshape(num_games, num_classes)


def _eleven_point_ap_distinct(tp: np.ndarray, detections: np.ndarray, num_gt: np.ndarray) -> np.ndarray:
    """``eleven_point_ap(*precision_recall(tp, detections, num_gt))`` for ``(D, 200, C)`` counts, on the
    distinct thresholds only: consecutive thresholds with the same detections keep the same
    predictions, so they repeat one (precision, recall) point and cannot change a maximum. With a
    few dozen predictions per (game, class) that is ~10× fewer points; the values are bit-equal.
    """
    changes = np.ones(detections.shape, dtype=bool)
    changes[1:] = detections[1:] != detections[:-1]
    cls, thr = np.nonzero(changes.T)  # grouped by class, thresholds ascending; threshold 0 always there
    starts = np.searchsorted(cls, np.arange(detections.shape[1]))
    precision, recall = precision_recall(tp[:, thr, cls], detections[thr, cls], num_gt[cls])  # (D, S)
    ap = np.zeros((tp.shape[0], detections.shape[1]))
    for j in RECALL_POINTS:  # the official order of the sum, divided by 11 afterwards
        ap += np.maximum.reduceat(np.where(recall >= j, precision, 0.0), starts, axis=1)
    return ap / 11


@dataclass(frozen=True)
class PerGameMetrics:
    """Average-mAP of each game alone (what SoccerNet's ``evaluate()`` gives on that game only)."""

    a_mAP: np.ndarray  # (G,)
    a_mAP_per_class: np.ndarray  # (G, C); 0 for classes without ground truth in the game
    num_labels: np.ndarray  # (G, C) int64 ground-truth entries (after the official same-frame merge)
    num_predictions: np.ndarray  # (G, C) int64 predictions evaluated (after merge, confidence >= 0)
    metric: str
    mAP_per_delta: np.ndarray  # (D, G) each game's mAP at each tolerance


def per_game_average_map(labels: Sequence[Annotations], predictions: Sequence[Annotations], metric: str = "loose",
                         framerate: float = 2.0, num_classes: int | None = None) -> PerGameMetrics:
    """Each game's Average-mAP in one vectorised evaluation.

    Matching is per (game, half, class) already; the PR counts use (game, class) as pseudo-classes
    (``pr_counts(..., num_classes=G*C)``), so ``a_mAP[g]`` equals
    ``average_map([labels[g]], [predictions[g]], metric).a_mAP`` (the same operations in the same order).
    """
    deltas = metric_deltas(metric)
    num_games = len(labels)
    num_classes = class_count(num_classes)
    gt, pred, _, _ = _encode(labels, predictions, framerate, num_classes)
    taken_by = match(gt, pred, deltas * framerate, framerate)
    flags = true_positive_flags(taken_by, len(pred))
    tp, detections = pr_counts(_game_class(pred), pred.value, flags, num_classes=num_games * num_classes)
    num_labels = _per_game_class(_game_class(gt), num_games, num_classes)
    ap = _eleven_point_ap_distinct(tp, detections, num_labels.reshape(-1))  # (D, G*C)
    ap = ap.reshape(len(deltas), num_games, num_classes)
    m = ap.mean(axis=-1)  # (D, G): np.mean of each contiguous (C,) row, as the official call
    return PerGameMetrics(a_mAP=np.asarray(trapezoid_average(m), dtype=np.float64).reshape(num_games),
                          a_mAP_per_class=np.asarray(trapezoid_average(ap)).reshape(num_games, num_classes),
                          num_labels=num_labels,
                          num_predictions=_per_game_class(_game_class(pred), num_games, num_classes),
                          metric=metric, mAP_per_delta=m)


def per_game_rows(games: Sequence[str], names: Sequence[str], per_game: Sequence[PerGameMetrics]) -> list[dict]:
    """One row per game × model (games in the given order): ``game, model, metric, a_mAP, num_labels,
    num_predictions`` (entries as evaluated: after the official same-frame merge, confidence >= 0)."""
    return [{"game": game, "model": name, "metric": figures.metric, "a_mAP": float(figures.a_mAP[g]),
             "num_labels": int(figures.num_labels[g].sum()), "num_predictions": int(figures.num_predictions[g].sum())}
            for g, game in enumerate(games) for name, figures in zip(names, per_game)]


# ---------------------------------------------------------------- matching at one tolerance and threshold

def _ratio(numerator, denominator) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(np.asarray(numerator, dtype=np.float64) / denominator)


def class_thresholds(threshold: float | np.ndarray, num_classes: int | None = None) -> np.ndarray:
    """``(C,)`` per-class thresholds from a number or a ``(C,)`` array (C = ``num_classes``, None: 17)."""
    return _class_thresholds(threshold, num_classes)


@dataclass(frozen=True)
class MatchCounts:
    """TP / FP / FN per game and class at one tolerance and threshold; ratios are 0 when undefined."""

    tp: np.ndarray  # (G, C) int64 kept predictions matched to a ground truth
    fp: np.ndarray  # (G, C) int64 kept predictions matched to none (false alarms)
    fn: np.ndarray  # (G, C) int64 ground truths no kept prediction matched
    num_labels: np.ndarray  # (G, C) int64 ground-truth entries
    num_predictions: np.ndarray  # (G, C) int64 predictions kept at the threshold (= tp + fp)

    @staticmethod
    def _figures(tp, fp, fn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _ratio(tp, tp + fp), _ratio(tp, tp + fn), _ratio(2 * tp, 2 * tp + fp + fn)

    def _over(self, axis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._figures(self.tp.sum(axis=axis), self.fp.sum(axis=axis), self.fn.sum(axis=axis))

    @property
    def precision(self) -> float:
        return float(self._over(None)[0])

    @property
    def recall(self) -> float:
        return float(self._over(None)[1])

    @property
    def f1(self) -> float:
        return float(self._over(None)[2])

    @property
    def precision_per_class(self) -> np.ndarray:
        return self._over(0)[0]

    @property
    def recall_per_class(self) -> np.ndarray:
        return self._over(0)[1]

    @property
    def f1_per_class(self) -> np.ndarray:
        return self._over(0)[2]

    @property
    def precision_per_game(self) -> np.ndarray:
        return self._over(1)[0]

    @property
    def recall_per_game(self) -> np.ndarray:
        return self._over(1)[1]

    @property
    def f1_per_game(self) -> np.ndarray:
        return self._over(1)[2]


@dataclass(frozen=True)
class SplitMatch:
    """Official greedy matching of every game at one tolerance, ready for any threshold.

    Matching all predictions and then keeping those above a per-class threshold gives the same
    matches as matching only the kept ones (a ground truth takes the best untaken candidate, and kept
    candidates outscore dropped ones of their class). Build it once with :func:`match_split` when
    several figures are needed at one δ.
    """

    num_games: int
    tolerance_s: float
    framerate: float
    labels: SparseEvents  # ground-truth entries
    predictions: SparseEvents  # evaluated prediction entries
    label_events: Annotations  # every game's labels, concatenated (``labels.source`` indexes it)
    prediction_events: Annotations  # every game's predictions, concatenated
    taken_by: np.ndarray  # (M,) prediction entry matched by each ground-truth entry, -1 when none
    true_positive: np.ndarray  # (P,) bool

    @property
    def num_classes(self) -> int:
        """C, the class set's size the events were encoded with."""
        return self.labels.num_classes

    @property
    def reach_frames(self) -> int:
        """Largest frame difference within ± δ/2."""
        return int(np.floor(self.tolerance_s * self.framerate / 2))

    def kept(self, threshold: float | np.ndarray) -> np.ndarray:
        """``(P,)`` bool: prediction entry kept at the threshold."""
        return self.predictions.value >= class_thresholds(threshold, self.num_classes)[self.predictions.class_index]

    def counts(self, threshold: float | np.ndarray) -> MatchCounts:
        kept = self.kept(threshold)
        where = _game_class(self.predictions)
        tp = _per_game_class(where[kept & self.true_positive], self.num_games, self.num_classes)
        fp = _per_game_class(where[kept & ~self.true_positive], self.num_games, self.num_classes)
        num_labels = _per_game_class(_game_class(self.labels), self.num_games, self.num_classes)
        return MatchCounts(tp=tp, fp=fp, fn=num_labels - tp, num_labels=num_labels, num_predictions=tp + fp)

    def matched_pairs(self, threshold: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(label entry, prediction entry)`` indices of every match of a kept prediction."""
        gt_entry = np.flatnonzero(self.taken_by >= 0)
        pred_entry = self.taken_by[gt_entry]
        keep = self.kept(threshold)[pred_entry]
        return gt_entry[keep], pred_entry[keep]

    def timing_errors(self, threshold: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(class_index (K,), error_s (K,))``: prediction − ground truth in seconds for each match
        (from ``position_ms``; negative = early), ordered by game, half, class and frame.

        Labels merged on one (half, frame, class) are measured from the one that wrote the entry (the
        last). A prediction more than one frame before its half's start sits at the end of the
        official 120-minute vector (``metrics_core.entry_key``) and matches only what lies there.
        """
        gt_entry, pred_entry = self.matched_pairs(threshold)
        error_ms = (self.prediction_events.position_ms[self.predictions.source[pred_entry]]
                    - self.label_events.position_ms[self.labels.source[gt_entry]])
        return self.labels.class_index[gt_entry], error_ms / 1000.0

    def class_confusion(self, threshold: float | np.ndarray) -> np.ndarray:
        """``(C, C)`` int64 ``counts[predicted class, ground-truth class]`` of kept false alarms.

        Rule: a kept prediction that matched nothing counts once for each *other* class that has a
        ground truth within ± δ/2 of it (same game and half, the matching's frame window), whether
        that ground truth was found or not; several such ground truths of one class count once. A
        false alarm near nothing of another class is not counted (the diagonal stays 0).
        """
        num_classes = self.num_classes
        false_alarm = np.flatnonzero(self.kept(threshold) & ~self.true_positive)
        confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
        if false_alarm.size == 0 or len(self.labels) == 0:
            return confusion
        reach = self.reach_frames
        spacing = vector_size(self.framerate) + 2 * reach + 1  # windows stay inside their (game, half)
        gt_half = self.labels.half_group  # game * 2 + half - 1
        gt_key = gt_half * spacing + self.labels.frame
        order = np.argsort(gt_key, kind="stable")
        gt_key = gt_key[order]
        fa_key = self.predictions.half_group[false_alarm] * spacing + self.predictions.frame[false_alarm]
        lo = np.searchsorted(gt_key, fa_key - reach, side="left")
        count = np.searchsorted(gt_key, fa_key + reach, side="right") - lo
        total = int(count.sum())
        if total == 0:
            return confusion
        pair_fa = np.repeat(np.arange(len(false_alarm)), count)
        pair_gt = order[np.repeat(lo - (np.cumsum(count) - count), count) + np.arange(total)]
        fa_class = self.predictions.class_index[false_alarm][pair_fa]
        gt_class = self.labels.class_index[pair_gt]
        other = gt_class != fa_class
        pairs = np.unique(pair_fa[other] * num_classes + gt_class[other])  # once per (false alarm, class)
        cells = self.predictions.class_index[false_alarm][pairs // num_classes] * num_classes + pairs % num_classes
        counts = np.bincount(cells, minlength=num_classes * num_classes).astype(np.int64)
        return counts.reshape(num_classes, num_classes)

    def pr_curves(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(thresholds (200,), precision (200, C), recall (200, C))`` pooled over every game."""
        tp, detections = pr_counts(self.predictions.class_index, self.predictions.value, self.true_positive,
                                   self.num_classes)
        num_labels = np.bincount(self.labels.class_index, minlength=self.num_classes)
        precision, recall = precision_recall(tp, detections, num_labels)
        return THRESHOLDS.copy(), precision, recall


def match_split(labels: Sequence[Annotations], predictions: Sequence[Annotations], tolerance_s: float,
                framerate: float = 2.0, num_classes: int | None = None) -> SplitMatch:
    """Official matching of every game at δ = ``tolerance_s`` (as ``spotting.metrics.game_figures``)."""
    gt, pred, label_events, prediction_events = _encode(labels, predictions, framerate, class_count(num_classes))
    taken_by = match(gt, pred, np.array([tolerance_s * framerate]), framerate)
    return SplitMatch(len(labels), float(tolerance_s), float(framerate), gt, pred, label_events,
                      prediction_events, taken_by[0], true_positive_flags(taken_by, len(pred))[0])


def match_counts(labels: Sequence[Annotations], predictions: Sequence[Annotations], tolerance_s: float,
                 threshold: float | np.ndarray, framerate: float = 2.0, num_classes: int | None = None) -> MatchCounts:
    """TP / FP / FN per game and class at δ = ``tolerance_s`` and ``threshold`` (number or ``(C,)``)."""
    return match_split(labels, predictions, tolerance_s, framerate, num_classes).counts(threshold)


def timing_errors(labels: Sequence[Annotations], predictions: Sequence[Annotations], tolerance_s: float,
                  threshold: float | np.ndarray, framerate: float = 2.0,
                  num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(class_index, error_s)`` of every matched kept prediction (see :meth:`SplitMatch.timing_errors`)."""
    return match_split(labels, predictions, tolerance_s, framerate, num_classes).timing_errors(threshold)


def class_confusion(labels: Sequence[Annotations], predictions: Sequence[Annotations], tolerance_s: float,
                    threshold: float | np.ndarray, framerate: float = 2.0, num_classes: int | None = None) -> np.ndarray:
    """``(C, C)`` false alarms near another class (see :meth:`SplitMatch.class_confusion` for the rule)."""
    return match_split(labels, predictions, tolerance_s, framerate, num_classes).class_confusion(threshold)


def pr_curves(labels: Sequence[Annotations], predictions: Sequence[Annotations], tolerance_s: float,
              framerate: float = 2.0, num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Official precision / recall at the 200 thresholds per class, pooled over all games, at one δ."""
    return match_split(labels, predictions, tolerance_s, framerate, num_classes).pr_curves()
