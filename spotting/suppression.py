"""Per-class suppression of candidate events on a frame axis: greedy NMS, and soft-NMS with a pluggable
score decay. Pure numpy on candidate lists (no dense frame grid); :mod:`spotting.postprocess` calls it.
"""

from __future__ import annotations

import numpy as np

SUPPRESSIONS = ("hard", "linear", "gaussian")  # hard NMS; soft-NMS with a linear or Gaussian score decay


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


# -- suppression with a pluggable score decay ------------------------------------------------------
# Soft-NMS (Bodla et al., "Soft-NMS — Improving Object Detection With One Line of Code", ICCV 2017;
# mmaction2's temporal ``soft_nms``; used for action spotting by Soares et al., "Temporally precise
# action spotting in soccer videos using dense detection anchors", ICIP 2022, yahoo/spivak): take the
# best remaining candidate, keep it with its current score, multiply its class's other candidates'
# scores by decay(overlap), repeat. Events are points: each stands for an interval as wide as its
# class's window, ``w = radius + 1`` frames, so two events ``d`` frames apart overlap with temporal
# IoU ``max(w - d, 0) / (w + d)`` — positive exactly where hard NMS suppresses (``d <= radius``).

def _hard_decay(iou: np.ndarray) -> np.ndarray:
    return np.where(iou > 0, 0.0, 1.0)


def _linear_decay(iou: np.ndarray) -> np.ndarray:
    return 1.0 - iou  # Bodla's linear rule with an overlap threshold of 0


def score_decay(kind: str, sigma: float = 0.5):
    """The decay ``f(iou) -> factor`` of a suppression kind: ``hard`` (0 inside the window: greedy NMS),
    ``linear`` (``1 - iou``) or ``gaussian`` (``exp(-iou² / sigma)``; hard NMS as sigma → 0)."""
    if kind == "hard":
        return _hard_decay
    if kind == "linear":
        return _linear_decay
    if kind == "gaussian":
        return lambda iou: np.exp(-np.square(iou) / sigma)
    raise ValueError(f"unknown suppression {kind!r}; valid: {', '.join(SUPPRESSIONS)}")


def soft_nms(frames: np.ndarray, classes: np.ndarray, confidence: np.ndarray, radius: np.ndarray,
             decay) -> tuple[np.ndarray, np.ndarray]:
    """Greedy per-class soft-NMS over candidate lists: ``(keep, scores)`` in the input order.

    ``decay(iou) -> factor`` (see :func:`score_decay`); a candidate decayed to 0 is dropped; the
    others are kept with their decayed scores (``radius[class] < 0``: untouched). The best remaining
    candidate goes first, ties to the earlier frame, then the earlier candidate (as
    :func:`nms_candidates`). Every class advances in the same step (one pick per class per step),
    each pick touching only the candidates inside its window: O(window) work per pick.
    """
    n = frames.size
    keep = np.zeros(n, dtype=bool)
    scores = np.asarray(confidence, dtype=np.float64).copy()
    if n == 0:
        return keep, scores
    r_all = np.asarray(radius)[classes]
    keep[r_all < 0] = True
    todo = np.flatnonzero(r_all >= 0)
    if todo.size == 0:
        return keep, scores
    order = todo[np.lexsort((todo, frames[todo], classes[todo]))]  # (m,) grouped by class, in time order
    f, c, r = frames[order].astype(np.int64), classes[order], r_all[order]
    score = scores[order]  # (m,) current (decayed) scores
    span = int(f.max()) + 2 * int(r.max()) + 2
    key = c.astype(np.int64) * span + f
    lo = np.searchsorted(key, key - r, side="left")  # (m,) window of each candidate in its class
    hi = np.searchsorted(key, key + r, side="right")
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])  # (G,) first candidate of each class
    group = np.cumsum(np.r_[True, c[1:] != c[:-1]]) - 1  # (m,) its class's group
    m = order.size
    position = np.arange(m)
    alive = np.ones(m, dtype=bool)
    kept = np.zeros(m, dtype=bool)
    while alive.any():
        current = np.where(alive, score, -np.inf)
        best = np.maximum.reduceat(current, starts)  # (G,)
        first = np.minimum.reduceat(np.where(alive & (current == best[group]), position, m), starts)
        chosen = first[first < m]  # (P,) one pick per class with candidates left
        alive[chosen] = False
        kept[chosen] = True
        counts = hi[chosen] - lo[chosen]
        src = np.repeat(chosen, counts)  # (N,) pick of each neighbour
        nb = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo[chosen], counts)
        live = alive[nb]
        src, nb = src[live], nb[live]
        distance = np.abs(f[nb] - f[src])
        width = (r[nb] + 1).astype(np.float64)
        iou = np.maximum(width - distance, 0) / (width + distance)
        score[nb] = score[nb] * decay(iou)
        dropped = nb[score[nb] <= 0]
        alive[dropped] = False
    keep[order] = kept | (r < 0)
    scores[order] = score
    return keep, scores


def suppress(frames: np.ndarray, classes: np.ndarray, confidence: np.ndarray, radius: np.ndarray,
             kind: str = "hard", sigma: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """``(keep, scores)`` of a suppression ``kind`` (one of :data:`SUPPRESSIONS`): hard NMS through
    :func:`nms_candidates` (its scores unchanged), soft-NMS through :func:`soft_nms` with
    :func:`score_decay` ``(kind, sigma)``."""
    if kind == "hard":
        return nms_candidates(frames, classes, confidence, radius), np.asarray(confidence)
    keep, scores = soft_nms(frames, classes, confidence, radius, score_decay(kind, sigma))
    return keep, scores.astype(np.asarray(confidence).dtype, copy=False)


def nms_dense(scores: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """:func:`nms_candidates` on a dense ``(T, K)`` array of candidates (> 0); a ``(T, K)`` keep mask."""
    frames, classes = np.nonzero(scores > 0)
    keep = np.zeros(scores.shape, dtype=bool)
    keep[frames, classes] = nms_candidates(frames, classes, scores[frames, classes], radius)
    return keep


def window_radius(window_s: np.ndarray, framerate: float) -> np.ndarray:
    """Frames suppressed on each side: neighbours strictly closer than half the window."""
    return np.ceil(np.asarray(window_s, dtype=np.float64) * framerate / 2).astype(np.int64) - 1
