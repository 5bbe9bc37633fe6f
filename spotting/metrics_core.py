"""Vectorised internals of SoccerNet's Average-mAP (``SoccerNet.Evaluation.ActionSpotting``).

The official evaluator (SoccerNet 0.2.0, ``ActionSpotting.evaluate`` / ``average_mAP``, by the
SoccerNet team, MIT licence) writes every half into dense ``(120*60*framerate, 17)`` vectors and
then loops in Python over classes, games, ground truths, predictions and 200 thresholds. Here the
same numbers come from the *set* entries of those vectors only:

* ``encode`` keeps exactly the entries the dense vectors would hold (frame truncated toward zero,
  clipped to the vector end, a negative frame counted from the end as a numpy index is, the last
  write at a (half, frame, class) wins, predictions < 0 or NaN are "no prediction").
* ``closest_visibility`` reproduces the official "closest action" vector with one searchsorted.
* ``match`` reproduces the greedy matching of ``compute_class_scores`` for all tolerances at once:
  a ground truth only depends on earlier ground truths that share a candidate prediction with it,
  and such chains are contiguous runs of ground truths, so the greedy loop is replayed in a few
  vectorised steps (step *r* handles the *r*-th ground truth of every chain).
* ``pr_counts`` gives the TP / detection counts at the 200 thresholds via sorting + cumsum.

Arithmetic that produces floats is ordered as in the official code so results are bit-equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spotting.soccernet import NUM_CLASSES, Annotations

THRESHOLDS = np.linspace(0, 1, 200)  # (200,) the official confidence thresholds
RECALL_POINTS = np.arange(11) / 10  # (11,) the official 11-point interpolation
HALF_MINUTES = 120  # the official vectors hold 120 minutes per half


def vector_size(framerate: float) -> int:
    """Frames of the official dense vector of one half (14400 at 2 fps)."""
    return int(HALF_MINUTES * 60 * framerate)


@dataclass(frozen=True)
class SparseEvents:
    """The set entries of the official dense vectors of several games, sorted by ``key``.

    A *group* is one (game, half, class): ``group = (game * 2 + half - 1) * NUM_CLASSES + class``.
    """

    group: np.ndarray  # (N,) int64
    frame: np.ndarray  # (N,) int64, clipped to the vector end
    value: np.ndarray  # (N,) float64: +1 / -1 ("not shown") for labels, the confidence for predictions
    source: np.ndarray  # (N,) int64: index (into the concatenated input) of the event that wrote the entry
    game: np.ndarray  # (N,) int64

    @property
    def class_index(self) -> np.ndarray:
        return self.group % NUM_CLASSES

    def __len__(self) -> int:
        return int(self.group.shape[0])


def concatenate_games(games: Sequence[Annotations]) -> tuple[Annotations, np.ndarray]:
    """All games' events in one :class:`Annotations` plus the game index of each event ``(N,)``."""
    events = Annotations.concatenate(list(games))
    game = np.repeat(np.arange(len(games), dtype=np.int64), [len(g) for g in games])
    return events, game


def entry_key(events: Annotations, game: np.ndarray, framerate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each event writes in the official dense vectors: ``(group, frame, key)``, each ``(N,)``.

    ``key = group * vector_size + frame`` orders entries; events the official code skips (half not
    1/2, class outside the 17) get ``key = -1``.
    """
    size = vector_size(framerate)
    # Same float expression as the official int(framerate * (int(position) / 1000)): int() truncates
    # toward zero, so -500 < position < 0 ms lands on frame 0 at 2 fps. The official code then clips
    # only at the top (min(frame, size - 1)); a negative frame is a negative numpy index and writes
    # into the *end* of the half's vector, which is reproduced here. Below -size it raises IndexError
    # officially; such events are skipped here (``results.parse_results`` refuses them first).
    frame = np.minimum(np.trunc(framerate * (events.position_ms / 1000)).astype(np.int64), size - 1)
    reachable = frame >= -size
    frame = np.where(frame < 0, frame + size, frame)
    group = (game * 2 + events.half - 1) * NUM_CLASSES + events.class_index
    ok = (np.isin(events.half, (1, 2)) & (events.class_index >= 0) & (events.class_index < NUM_CLASSES)
          & reachable)
    return group, frame, np.where(ok, group * size + frame, -1)


def encode(events: Annotations, game: np.ndarray, framerate: float, is_labels: bool) -> SparseEvents:
    """The entries ``label2vector`` / ``predictions2vector`` would write, one per (group, frame)."""
    group, frame, key = entry_key(events, game, framerate)
    source = np.flatnonzero(key >= 0)
    group, frame, key = group[source], frame[source], key[source]
    order = np.argsort(key, kind="stable")
    key = key[order]
    last = np.ones(len(key), dtype=bool)  # the last write (in input order) of each entry wins
    last[:-1] = key[1:] != key[:-1]
    source = source[order[last]]
    group = group[order[last]]
    frame = frame[order[last]]
    if is_labels:
        value = np.where(events.visible[source], 1.0, -1.0)
    else:
        value = events.confidence[source].astype(np.float64)
        shown = value >= 0  # the official "detection >= 0"; also drops NaN
        source, group, frame, value = source[shown], group[shown], frame[shown], value[shown]
    return SparseEvents(group, frame, value, source, game[source])


def closest_visibility(labels: SparseEvents, predictions: SparseEvents, framerate: float) -> np.ndarray:
    """``(P,)`` +1 / -1: value of the official ``closests`` vector at each prediction.

    Frame f of a class belongs to ground truth k when ``(f[k-1]+f[k])//2 <= f < (f[k]+f[k+1])//2``;
    classes without ground truth in that half are -1.
    """
    size = vector_size(framerate)
    if len(labels) == 0:
        return np.full(len(predictions), -1.0)
    gt_key = labels.group * size + labels.frame
    same_group = labels.group[1:] == labels.group[:-1]
    boundary = np.where(same_group, labels.group[:-1] * size + (labels.frame[:-1] + labels.frame[1:]) // 2,
                        labels.group[1:] * size)
    assigned = np.searchsorted(boundary, predictions.group * size + predictions.frame, side="right")
    assigned = np.minimum(assigned, len(gt_key) - 1)
    valid = labels.group[assigned] == predictions.group
    return np.where(valid, labels.value[assigned], -1.0)


def match(labels: SparseEvents, predictions: SparseEvents, delta_frames: np.ndarray,
          framerate: float) -> np.ndarray:
    """Official greedy matching for every tolerance: ``(D, M)`` index of the prediction taken by each
    ground truth, -1 when none.

    ``delta_frames`` ``(D,)`` are the official ``deltas * framerate``; a prediction is a candidate of
    a ground truth when ``|frame difference| <= delta / 2``. Ground truths are served in frame order,
    each taking the highest-scoring candidate not yet taken (ties: the earliest frame).
    """
    delta_frames = np.asarray(delta_frames, dtype=np.float64).reshape(-1)
    num_deltas, num_gt, num_pred = len(delta_frames), len(labels), len(predictions)
    taken_by = np.full((num_deltas, num_gt), -1, dtype=np.int64)
    if num_gt == 0 or num_pred == 0:
        return taken_by
    # |p - g| <= delta/2 on integers is |p - g| <= floor(delta/2).
    reach = np.floor(delta_frames / 2).astype(np.int64)  # (D,)
    spacing = vector_size(framerate) + 2 * int(reach.max()) + 1  # keeps windows inside their group
    pred_key = predictions.group * spacing + predictions.frame
    gt_key = labels.group * spacing + labels.frame
    lo = np.searchsorted(pred_key, gt_key[None, :] - reach[:, None], side="left")  # (D, M)
    hi = np.searchsorted(pred_key, gt_key[None, :] + reach[:, None], side="right")  # (D, M)

    # Chains: consecutive ground truths of a group whose windows share a prediction.
    linked = np.zeros((num_deltas, num_gt), dtype=bool)  # linked[d, k]: k shares with k - 1
    linked[:, 1:] = (labels.group[1:] == labels.group[:-1])[None, :] & (lo[:, 1:] < hi[:, :-1])
    flat = np.arange(num_deltas * num_gt)
    chain_start = np.maximum.accumulate(np.where(linked.ravel(), 0, flat))
    step = flat - chain_start  # (D*M,) position of each ground truth in its chain

    count = (hi - lo).ravel()
    has_candidates = count > 0
    gt_flat = flat[has_candidates]
    count = count[has_candidates]
    total = int(count.sum())
    if total == 0:
        return taken_by
    pair_gt = np.repeat(gt_flat, count)  # candidate pairs, grouped by ground truth, in frame order
    run_start = np.cumsum(count) - count
    pair_pred = np.repeat(lo.ravel()[gt_flat] - run_start, count) + np.arange(total)
    pair_step = step[pair_gt]
    order = np.argsort(pair_step, kind="stable")
    pair_gt, pair_pred, pair_step = pair_gt[order], pair_pred[order], pair_step[order]
    step_bounds = np.searchsorted(pair_step, np.arange(int(pair_step[-1]) + 2))

    taken = np.zeros(num_deltas * num_pred, dtype=bool)  # per (delta, prediction)
    taken_flat = taken_by.ravel()
    pair_delta_pred = (pair_gt // num_gt) * num_pred + pair_pred
    score = predictions.value
    for begin, end in zip(step_bounds[:-1], step_bounds[1:]):
        gts, slot = pair_gt[begin:end], pair_delta_pred[begin:end]
        free_score = np.where(taken[slot], -np.inf, score[pair_pred[begin:end]])
        run_first = np.flatnonzero(np.r_[True, gts[1:] != gts[:-1]])
        run_id = np.cumsum(np.r_[False, gts[1:] != gts[:-1]])
        best = np.maximum.reduceat(free_score, run_first)[run_id]
        winner = (free_score == best) & ~taken[slot]
        winner_idx = np.flatnonzero(winner)
        winner_run = run_id[winner_idx]
        first_of_run = np.ones(len(winner_idx), dtype=bool)
        first_of_run[1:] = winner_run[1:] != winner_run[:-1]
        first = winner_idx[first_of_run]
        taken[slot[first]] = True
        taken_flat[gts[first]] = pair_pred[begin:end][first]
    return taken_by


def true_positive_flags(taken_by: np.ndarray, num_predictions: int) -> np.ndarray:
    """``(D, P)`` bool: prediction matched by some ground truth, per tolerance."""
    flags = np.zeros((taken_by.shape[0], num_predictions), dtype=bool)
    rows, cols = np.nonzero(taken_by >= 0)
    flags[rows, taken_by[rows, cols]] = True
    return flags


def pr_counts(class_index: np.ndarray, score: np.ndarray, flags: np.ndarray,
              num_classes: int = NUM_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """Counts at the 200 official thresholds (``score >= threshold``), per class.

    ``class_index``/``score`` are ``(P,)``; ``flags`` is ``(D, P)`` bool (true positives, possibly
    restricted to a visibility) or ``(P,)``. Returns ``(tp, detections)`` int64 arrays of shape
    ``(D, 200, C)`` and ``(200, C)`` (``(200, C)`` for both when ``flags`` is 1-D).
    """
    flags2 = np.atleast_2d(flags)
    order = np.lexsort((score, class_index))
    sorted_class, sorted_score = class_index[order], score[order]
    starts = np.searchsorted(sorted_class, np.arange(num_classes + 1))
    index = np.empty((len(THRESHOLDS), num_classes), dtype=np.int64)  # first prediction >= threshold
    for c in range(num_classes):
        begin, end = starts[c], starts[c + 1]
        index[:, c] = begin + np.searchsorted(sorted_score[begin:end], THRESHOLDS, side="left")
    ends = starts[1:][None, :]  # (1, C)
    detections = ends - index
    cum = np.zeros((flags2.shape[0], len(order) + 1), dtype=np.int64)
    np.cumsum(flags2[:, order], axis=1, out=cum[:, 1:])
    tp = cum[:, ends[0]][:, None, :] - cum[:, index]  # (D, 200, C)
    return (tp[0], detections) if flags.ndim == 1 else (tp, detections)


def precision_recall(tp: np.ndarray, detections: np.ndarray, num_gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Official ``np.nan_to_num(TP / len(pred_indexes))`` and ``np.nan_to_num(TP / n_gt)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.nan_to_num(tp / detections)
        recall = np.nan_to_num(tp / num_gt)
    return precision, recall


def eleven_point_ap(precision: np.ndarray, recall: np.ndarray) -> np.ndarray:
    """Official ``compute_mAP`` per class: ``(..., 200, C)`` -> ``(..., C)``.

    The sum runs j = 0, 0.1, ..., 1 in order and is divided by 11 afterwards, as officially.
    Precision is >= 0, so masked entries can be 0 without changing the maximum.
    """
    ap = np.zeros(precision.shape[:-2] + precision.shape[-1:])
    for j in RECALL_POINTS:
        ap += np.where(recall >= j, precision, 0.0).max(axis=-2)
    return ap / 11


def trapezoid_average(curve: np.ndarray) -> np.ndarray | float:
    """Official Average over tolerances: ``(D, ...)`` -> ``(...)``; a single tolerance is returned as is."""
    if len(curve) == 1:
        return curve[0]
    integral = 0.0
    for i in range(len(curve) - 1):
        integral += (curve[i] + curve[i + 1]) / 2
    return integral / (len(curve) - 1)
