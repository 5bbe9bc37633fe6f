"""Precision / recall at SoccerNet's 200 confidence thresholds, its 11-point AP and its average over
tolerances — the official ``compute_class_scores`` / ``compute_mAP`` / ``delta_curve`` arithmetic,
vectorised over tolerances, classes and games (pseudo-classes). :mod:`spotting.metrics_core` matches
events; this module turns matches into the official figures.
"""

from __future__ import annotations

import numpy as np

THRESHOLDS = np.linspace(0, 1, 200)  # (200,) the official confidence thresholds
RECALL_POINTS = np.arange(11) / 10  # (11,) the official 11-point interpolation


def threshold_bins(score: np.ndarray) -> np.ndarray:
    """``(P,)`` int64 bin: ``score >= THRESHOLDS[t]`` exactly for ``t < bin`` (0 for NaN).

    ``THRESHOLDS[i]`` is within an ulp of ``i / 199``, so with ``g = floor(score * 199)`` every
    threshold below ``g - 1`` is reached, none above ``g + 1``, and those three are compared exactly
    (cheaper than a binary search per score).
    """
    num = len(THRESHOLDS)
    scaled = np.fmin(np.fmax(np.asarray(score, dtype=np.float64) * (num - 1), -1.0), num + 1.0)  # NaN -> -1
    low = np.clip(np.floor(scaled).astype(np.int64) - 1, 0, num)
    bins = low.copy()
    for i in range(3):
        candidate = low + i
        bins += (candidate < num) & (THRESHOLDS[np.minimum(candidate, num - 1)] <= score)
    return bins


def _reaching(hist: np.ndarray) -> np.ndarray:
    """``(N, 200, C)`` int64 counts reaching each threshold from ``hist`` ``(N, 201, C)``, the entries
    per threshold bin: an entry reaches threshold t when its bin is > t, i.e. total - cumulative."""
    cum = np.cumsum(hist, axis=1)
    return cum[:, -1:] - cum[:, :-1]


def pr_counts(class_index: np.ndarray, score: np.ndarray, flags: np.ndarray,
              num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts at the 200 official thresholds (``score >= threshold``), per class.

    ``class_index``/``score`` are ``(P,)``; ``flags`` is ``(D, P)`` bool (true positives, possibly
    restricted to a visibility) or ``(P,)``. Returns ``(tp, detections)`` int64 arrays of shape
    ``(D, 200, C)`` and ``(200, C)`` (``(200, C)`` for both when ``flags`` is 1-D). One histogram per
    output, no loop over classes: time and memory are those of the outputs plus the set flags, so
    ``C`` may be games × classes pseudo-classes.
    """
    flags2 = np.atleast_2d(flags)
    per_class = len(THRESHOLDS) + 1
    filed = threshold_bins(score) * num_classes + class_index  # (P,) (bin, class) of each prediction
    rows, cols = np.nonzero(flags2)
    size = per_class * num_classes
    tp = _reaching(np.bincount(rows * size + filed[cols], minlength=flags2.shape[0] * size)
                   .reshape(flags2.shape[0], per_class, num_classes))
    detections = _reaching(np.bincount(filed, minlength=size).reshape(1, per_class, num_classes))[0]
    return (tp[0], detections) if flags.ndim == 1 else (tp, detections)


def matched_pr_counts(class_index: np.ndarray, score: np.ndarray, taken_by: np.ndarray, subset: np.ndarray,
                      num_subsets: int, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pr_counts` straight from :func:`match`'s ``taken_by`` ``(D, M)``, split by ``subset``.

    ``subset`` ``(P,)`` int in ``[0, S)`` (e.g. 1 for predictions whose closest action is visible).
    Returns ``tp`` ``(D, S, 200, C)`` and ``detections`` ``(S, 200, C)``: what :func:`pr_counts` gives
    with the flags ``true_positive & (subset == s)``, without building any ``(D, P)`` array.
    """
    num_deltas = taken_by.shape[0]
    per_subset = (len(THRESHOLDS) + 1) * num_classes
    filed = subset * per_subset + threshold_bins(score) * num_classes + class_index  # (P,)
    # One small histogram per tolerance: (D, M)-sized temporaries cost more in page faults than the loop.
    hist = np.empty((num_deltas, num_subsets * per_subset), dtype=np.int64)
    for d, taken in enumerate(taken_by):
        hist[d] = np.bincount(filed[taken[taken >= 0]], minlength=num_subsets * per_subset)
    tp = _reaching(hist.reshape(num_deltas * num_subsets, -1, num_classes))
    detections = _reaching(np.bincount(filed, minlength=num_subsets * per_subset).reshape(num_subsets, -1, num_classes))
    return tp.reshape(num_deltas, num_subsets, *tp.shape[1:]), detections


def precision_recall(tp: np.ndarray, detections: np.ndarray, num_gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Official ``np.nan_to_num(TP / len(pred_indexes))`` and ``np.nan_to_num(TP / n_gt)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / detections, copy=False)  # in place: the quotient is a fresh array
        recall = np.nan_to_num(tp / num_gt, copy=False)
    return precision, recall


def eleven_point_ap(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """Official ``compute_mAP`` per class: ``(..., 200, C)`` -> ``(..., C)``.

    The sum runs j = 0, 0.1, ..., 1 in order and is divided by 11 afterwards, as officially. Each
    point's precision is filed under its *level* (how many recall points it reaches; precision >= 0,
    so an empty level is 0); the maximum over "recall >= j" is a running maximum from the top level.
    """
    precision, recall = np.broadcast_arrays(precision, recall)
    batch, num_classes, num_levels = precision.shape[:-2], precision.shape[-1], len(RECALL_POINTS) + 1
    num_rows = int(np.prod(batch))
    # cell = (row * 12 + level) * C + class, built in place (these arrays are the largest of an evaluation).
    cell = np.searchsorted(RECALL_POINTS, recall, side="right")  # level: points j with RECALL_POINTS[j] <= recall
    cell[np.isnan(recall)] = 0  # NaN reaches no point (recall >= j is False)
    cell = cell.reshape(num_rows, -1, num_classes)
    cell += (np.arange(num_rows) * num_levels)[:, None, None]
    cell *= num_classes
    cell += np.arange(num_classes)
    best = np.zeros(num_rows * num_levels * num_classes)
    np.maximum.at(best, cell.ravel(), precision.ravel())
    best = best.reshape(num_rows, num_levels, num_classes)
    reached = np.maximum.accumulate(best[:, ::-1], axis=1)[:, ::-1]  # [:, j + 1]: max over recall >= j
    ap = np.zeros((num_rows, num_classes))
    for j in range(len(RECALL_POINTS)):
        ap += reached[:, j + 1]
    return (ap / 11).reshape(*batch, num_classes)


def trapezoid_average(curve: np.ndarray) -> np.ndarray | float:
    """Official Average over tolerances: ``(D, ...)`` -> ``(...)``; a single tolerance is returned as is."""
    if len(curve) == 1:
        return curve[0]
    integral = 0.0
    for i in range(len(curve) - 1):
        integral += (curve[i] + curve[i + 1]) / 2
    return integral / (len(curve) - 1)
