"""Vectorised internals of SoccerNet's Average-mAP (``SoccerNet.Evaluation.ActionSpotting``).

The official evaluator (SoccerNet 0.2.0, ``ActionSpotting.evaluate`` / ``average_mAP``, by the
SoccerNet team, MIT licence) writes every half into dense ``(120*60*framerate, C)`` vectors (C = ``len(EVENT_DICTIONARY)``) and
then loops in Python over classes, games, ground truths, predictions and 200 thresholds. Here the
same numbers come from the *set* entries of those vectors only:

* ``encode`` keeps exactly the entries the dense vectors would hold (frame truncated toward zero,
  clipped to the vector end, a negative frame counted from the end as a numpy index is, the last
  write at a (half, frame, class) wins, predictions < 0 or NaN are "no prediction").
* ``closest_visibility`` reproduces the official "closest action" vector with one searchsorted.
* ``match`` reproduces the greedy matching of ``compute_class_scores`` for all tolerances at once,
  in work proportional to the candidate pairs of the widest one: a ground truth whose window shares
  no prediction with the previous one's takes the best of its window; the others (contiguous
  *chains*) are replayed in a few vectorised steps (step *r* serves the *r*-th of every chain).
* :mod:`spotting.average_precision` turns matches into the figures: ``pr_counts`` /
  ``matched_pr_counts`` give the TP / detection counts at the 200 thresholds from one histogram over
  (threshold bin, class) and a cumulative sum; ``eleven_point_ap`` files each point's precision under
  how many recall points it reaches and takes running maxima.

Arithmetic that produces floats is ordered as in the official code so results are bit-equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from spotting.soccernet import Annotations

HALF_MINUTES = 120  # the official vectors hold 120 minutes per half


def vector_size(framerate: float) -> int:
    """Frames of the official dense vector of one half (14400 at 2 fps)."""
    return int(HALF_MINUTES * 60 * framerate)


@dataclass(frozen=True)
class SparseEvents:
    """The set entries of the official dense vectors of several games, sorted by ``key``.

    A *group* is one (game, half, class): ``group = (game * 2 + half - 1) * num_classes + class``.
    """

    group: np.ndarray  # (N,) int64
    frame: np.ndarray  # (N,) int64, clipped to the vector end
    value: np.ndarray  # (N,) float64: +1 / -1 ("not shown") for labels, the confidence for predictions
    source: np.ndarray  # (N,) int64: index (into the concatenated input) of the event that wrote the entry
    game: np.ndarray  # (N,) int64
    num_classes: int  # C, the width of the official vectors (len(EVENT_DICTIONARY))

    @cached_property  # read several times per evaluation; stored in the instance dict (frozen is fine)
    def class_index(self) -> np.ndarray:
        return self.group % self.num_classes

    @property
    def half_group(self) -> np.ndarray:
        """``(N,)`` one (game, half): ``game * 2 + half - 1``."""
        return self.group // self.num_classes

    def __len__(self) -> int:
        return int(self.group.shape[0])


def concatenate_games(games: Sequence[Annotations]) -> tuple[Annotations, np.ndarray]:
    """All games' events in one :class:`Annotations` plus the game index of each event ``(N,)``."""
    events = Annotations.concatenate(list(games))
    game = np.repeat(np.arange(len(games), dtype=np.int64), [len(g) for g in games])
    return events, game


def entry_key(events: Annotations, game: np.ndarray, framerate: float,
              num_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each event writes in the official dense ``(frames, num_classes)`` vectors: ``(group, frame,
    key)``, each ``(N,)``.

    ``key = group * vector_size + frame`` orders entries; events the official code skips (half not
    1/2, class outside ``[0, num_classes)``) get ``key = -1``.
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
    group = (game * 2 + events.half - 1) * num_classes + events.class_index
    ok = (((events.half == 1) | (events.half == 2)) & (events.class_index >= 0) & (events.class_index < num_classes)
          & reachable)
    return group, frame, np.where(ok, group * size + frame, -1)


def encode(events: Annotations, game: np.ndarray, framerate: float, is_labels: bool, num_classes: int) -> SparseEvents:
    """The entries ``label2vector`` / ``predictions2vector`` would write, one per (group, frame), for
    ``num_classes`` classes (``class_index`` of ``events`` indexes the class set)."""
    group, frame, key = entry_key(events, game, framerate, num_classes)
    source = np.flatnonzero(key >= 0)
    key = key[source]
    num = len(key)
    if num and int(key.max()) < np.iinfo(np.int64).max // num - 1:
        # Entries ordered by (key, input order) with one plain sort of key * N + index: unique values,
        # so no stable sort is needed (a SIMD value sort is several times faster than argsort).
        packed = np.sort(key * num + np.arange(num))
        key, position = np.divmod(packed, num)
        source = source[position]
    else:
        order = np.argsort(key, kind="stable")
        key, source = key[order], source[order]
    last = np.ones(num, dtype=bool)  # the last write (in input order) of each entry wins
    last[:-1] = key[1:] != key[:-1]
    source = source[last]
    if is_labels:
        value = np.where(events.visible[source], 1.0, -1.0)
    else:
        value = events.confidence[source].astype(np.float64)
        source, value = source[value >= 0], value[value >= 0]  # the official "detection >= 0"; also drops NaN
    return SparseEvents(group[source], frame[source], value, source, game[source], num_classes)


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

    Each candidate pair of the widest tolerance gets the narrowest tolerance admitting it (its
    *level*); tolerances are visited narrowest first, each adding its pairs to every ground truth's
    running best. A chain *head* (window sharing nothing with the previous one's) takes exactly that;
    the others are replayed along their chains (:func:`_replay_chains`).
    """
    delta_frames = np.asarray(delta_frames, dtype=np.float64).reshape(-1)
    num_deltas, num_gt, num_pred = len(delta_frames), len(labels), len(predictions)
    taken_by = np.full((num_deltas, num_gt), -1, dtype=np.int64)
    # |p - g| <= delta/2 on integers is |p - g| <= floor(delta/2); tolerances are visited by reach.
    reach = np.floor(delta_frames / 2).astype(np.int64)  # (D,)
    if num_gt == 0 or num_pred == 0 or num_deltas == 0 or reach.max() < 0:
        return taken_by
    by_reach = np.argsort(reach, kind="stable")
    sorted_reach = reach[by_reach]
    widest = int(sorted_reach[-1])
    spacing = vector_size(framerate) + 2 * widest + 1  # groups lie further apart than any window
    pred_key = predictions.group * spacing + predictions.frame  # (P,) sorted
    gt_key = labels.group * spacing + labels.frame  # (M,) sorted
    lo = np.searchsorted(pred_key, gt_key - widest, side="left")  # (M,)
    count = np.searchsorted(pred_key, gt_key + widest, side="right") - lo
    total = int(count.sum())
    if total == 0:
        return taken_by
    pair_gt = np.repeat(np.arange(num_gt), count)  # (T,) candidate pairs, by ground truth then frame
    pair_pred = np.arange(total) + np.repeat(lo - (np.cumsum(count) - count), count)
    distance = np.abs(pred_key[pair_pred] - gt_key[pair_gt])  # <= widest
    if widest <= 1 << 16:  # a lookup table beats a binary search per pair
        level = np.searchsorted(sorted_reach, np.arange(widest + 1), side="left")[distance]
    else:
        level = np.searchsorted(sorted_reach, distance, side="left")
    # Buckets = (level, ground truth); a stable sort by level keeps each level's pairs by ground truth
    # then frame (int16 keys: numpy radix-sorts them).
    by_level = np.argsort(level.astype(np.int16 if num_deltas < 2**15 else np.int64), kind="stable")
    level, pair_gt, pair_pred = level[by_level], pair_gt[by_level], pair_pred[by_level]
    pair_score = predictions.value[pair_pred]
    new_bucket = np.ones(total, dtype=bool)
    new_bucket[1:] = (pair_gt[1:] != pair_gt[:-1]) | (level[1:] != level[:-1])
    starts = np.flatnonzero(new_bucket)
    top = np.maximum.reduceat(pair_score, starts)  # best score of each bucket
    tied = pair_score == top[np.cumsum(new_bucket) - 1]
    earliest = np.minimum.reduceat(np.where(tied, pair_pred, num_pred), starts)  # its earliest prediction
    first = np.minimum.reduceat(pair_pred, starts)
    last = np.maximum.reduceat(pair_pred, starts)
    bucket_gt = pair_gt[starts]
    level_bounds = np.searchsorted(level[starts], np.arange(num_deltas + 1))

    # Ground truths linked to their predecessor at some tolerance, whose windows the replay needs.
    link_level = _link_levels(pred_key, gt_key, sorted_reach)  # (M,), D: never linked
    linkable = np.flatnonzero(link_level < num_deltas)  # (K,)
    window_first, window_last = (np.empty((num_deltas, len(linkable)), dtype=np.int64) for _ in range(2))

    # Running best (highest score, then earliest) and window of every ground truth, tolerance by tolerance.
    best_score, choice = np.full(num_gt, -np.inf), np.full(num_gt, -1, dtype=np.int64)
    lowest, highest = np.full(num_gt, num_pred, dtype=np.int64), np.full(num_gt, -1, dtype=np.int64)
    result = taken_by if np.array_equal(by_reach, np.arange(num_deltas)) else np.empty_like(taken_by)
    for s in range(num_deltas):
        b = slice(level_bounds[s], level_bounds[s + 1])
        gts, score, index = bucket_gt[b], top[b], earliest[b]
        old = best_score[gts]
        better = (score > old) | ((score == old) & (index < choice[gts]))
        best_score[gts[better]] = score[better]
        choice[gts[better]] = index[better]
        lowest[gts] = np.minimum(lowest[gts], first[b])
        highest[gts] = np.maximum(highest[gts], last[b])
        result[s] = choice
        window_first[s] = lowest[linkable]
        window_last[s] = highest[linkable]

    if len(linkable):
        _replay_chains(linkable, link_level[linkable], window_first, window_last, predictions.value, result)
    if result is not taken_by:
        taken_by[by_reach] = result
    return taken_by


def _link_levels(pred_key: np.ndarray, gt_key: np.ndarray, sorted_reach: np.ndarray) -> np.ndarray:
    """``(M,)`` narrowest tolerance (index into ``sorted_reach``) at which ground truth k shares a
    candidate with k - 1; ``len(sorted_reach)`` when it never does (k = 0, other group, too far).

    They share p at reach r when ``max(|p - g[k-1]|, |p - g[k]|) <= r``; that maximum is smallest for
    a neighbour of their midpoint. Keys of different groups lie further apart than any reach.
    """
    num_pred = len(pred_key)
    link_level = np.full(len(gt_key), len(sorted_reach))
    if len(gt_key) < 2:
        return link_level
    right = np.searchsorted(pred_key, (gt_key[:-1] + gt_key[1:]) // 2, side="right")
    cost = np.full(len(gt_key) - 1, np.iinfo(np.int64).max)
    for neighbour in (right - 1, right):  # pred_key[right - 1] <= midpoint < pred_key[right]
        p = pred_key[np.clip(neighbour, 0, num_pred - 1)]
        shared = np.maximum(np.abs(p - gt_key[:-1]), np.abs(p - gt_key[1:]))
        cost = np.where((neighbour >= 0) & (neighbour < num_pred), np.minimum(cost, shared), cost)
    link_level[1:] = np.searchsorted(sorted_reach, cost, side="left")
    return link_level


def _replay_chains(linkable: np.ndarray, link_level: np.ndarray, window_first: np.ndarray, window_last: np.ndarray,
                   score: np.ndarray, result: np.ndarray) -> None:
    """Correct ``result`` ``(D, M)`` for ground truths sharing a candidate with their predecessor:
    they take the best of what their chain left.

    ``linkable`` ``(K,)`` ground truths are linked at rows ``>= link_level`` ``(K,)``;
    ``window_first/last`` ``(D, K)`` bound their windows. Step *r* serves the *r*-th follower of
    every chain (head: right in ``result`` already) of every row at once: those are independent.
    """
    num_deltas, num_gt = result.shape
    num_pred = len(score)
    linked = np.arange(num_deltas)[:, None] >= link_level[None, :]  # (D, K)
    # Step along the chain: k continues a chain of followers when k - 1 is a linked follower too.
    after_linked = np.zeros_like(linked)
    after_linked[:, 1:] = linked[:, :-1] & (linkable[1:] == linkable[:-1] + 1)[None, :]
    flat = np.arange(linked.size)
    step = flat - np.maximum.accumulate(np.where(after_linked.ravel(), 0, flat)) + 1
    entry = np.flatnonzero(linked.ravel())  # linked (row, ground truth) cells of the (D, K) grid
    entry = entry[np.argsort(step[entry].astype(np.int16 if len(linkable) < 2**15 else np.int64), kind="stable")]
    entry_step = step[entry]
    row, gt = entry // len(linkable), linkable[entry % len(linkable)]
    lo = window_first.ravel()[entry]
    count = window_last.ravel()[entry] + 1 - lo  # >= 1: shares one with its predecessor

    taken = np.zeros(num_deltas * num_pred, dtype=bool)  # per (row, prediction): what was taken so far
    heads = entry_step == 1
    head_choice = result[row[heads], gt[heads] - 1]
    taken[(row[heads] * num_pred + head_choice)[head_choice >= 0]] = True
    pair_start = np.cumsum(count) - count
    pair_entry = np.repeat(np.arange(len(entry)), count)
    pair_pred = np.arange(int(count.sum())) + np.repeat(lo - pair_start, count)
    pair_slot = row[pair_entry] * num_pred + pair_pred
    pair_score = score[pair_pred]
    step_bounds = np.searchsorted(entry_step, np.arange(1, int(entry_step[-1]) + 2))
    cell = row * num_gt + gt
    result_flat = result.ravel()
    for begin, stop in zip(step_bounds[:-1], step_bounds[1:]):
        pairs = slice(pair_start[begin], pair_start[stop - 1] + count[stop - 1])
        starts = pair_start[begin:stop] - pair_start[begin]
        free = ~taken[pair_slot[pairs]]
        free_score = np.where(free, pair_score[pairs], -np.inf)
        top = np.maximum.reduceat(free_score, starts)[pair_entry[pairs] - begin]
        pred = pair_pred[pairs]
        chosen = np.minimum.reduceat(np.where(free & (free_score == top), pred, num_pred), starts)
        found = chosen < num_pred
        taken[row[begin:stop][found] * num_pred + chosen[found]] = True
        result_flat[cell[begin:stop]] = np.where(found, chosen, -1)


def true_positive_flags(taken_by: np.ndarray, num_predictions: int) -> np.ndarray:
    """``(D, P)`` bool: prediction matched by some ground truth, per tolerance."""
    flags = np.zeros(taken_by.shape[0] * num_predictions, dtype=bool)
    taken = taken_by.ravel()
    cell = np.flatnonzero(taken >= 0)
    flags[cell // taken_by.shape[1] * num_predictions + taken[cell]] = True
    return flags.reshape(taken_by.shape[0], num_predictions)
