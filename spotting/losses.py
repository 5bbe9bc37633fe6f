"""CALF's two losses: the context-aware segmentation loss and the YOLO-like spotting loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Masked frames (chunk borders outside the receptive field) carry this shift: it lies in the
# do-not-care zone [K2, 0) of every class, so they contribute exactly zero loss.
IGNORE_SHIFT = -1.0


def context_aware_loss(shifts: torch.Tensor, score: torch.Tensor, k: torch.Tensor,
                       hit_radius: float = 0.1, miss_radius: float = 0.9) -> torch.Tensor:
    """Sum over ``(B, T, C)`` of the per-frame context-aware loss.

    ``shifts``: time shift of each frame to its event (frames, see ``encoding.time_shifts``);
    ``score``: segmentation score in [0, 1]; ``k``: ``(4, C)`` K in frames on the same device.
    Regions (each term clipped at >= 0): far before/after → push s <= 1 - miss_radius; ramps between;
    [K2, 0) do-not-care; [0, K3) hit → s >= 1 - hit_radius at the event, relaxing towards K3.
    """
    x = shifts.to(score.dtype)
    k = k.to(dtype=score.dtype, device=score.device)
    k1, k2, k3, k4 = (k[i].expand_as(x) for i in range(4))  # (C,) → (B, T, C)
    eps = 1e-7  # log(0) guard; the reference clamps nothing and can produce inf
    s = score.clamp(eps, 1 - eps)
    log_miss = torch.log(torch.tensor(miss_radius, dtype=score.dtype, device=score.device))
    log_hit = torch.log(torch.tensor(1 - hit_radius, dtype=score.dtype, device=score.device))
    far = -torch.log(1 - s) + log_miss
    ramp_before = -torch.log((1 - s) + s * (torch.minimum(torch.maximum(x, k1), k2) - k1) / (k2 - k1)) + log_miss
    hit = -torch.log(s + (1 - s) * torch.minimum(x.clamp_min(0), k3) / k3) + log_hit
    ramp_after = -torch.log((1 - s) + s * (torch.minimum(torch.maximum(x, k3), k4) - k4) / (k3 - k4)) + log_miss
    zero = torch.zeros_like(s)
    loss = torch.where(x < k1, far,
           torch.where(x < k2, ramp_before,
           torch.where(x < 0, zero,
           torch.where(x < k3, hit,
           torch.where(x < k4, ramp_after, far)))))
    return loss.clamp_min(0).sum()


def match_predictions(targets: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """Reorder predictions ``(B, N, 2 + C)`` to match targets greedily on 1 - |Δt|.

    Each round, every open target row picks its best free prediction; a prediction picked by
    several rows goes to the nearest of them. Real targets are matched first, then empty rows take
    the remaining predictions the same way (the CALF reference's matching, tie-breaking included).
    Vectorised over the batch; the loop runs over the N slots, not over samples.
    """
    batch, n, _ = targets.shape
    similarity = 1 - (targets[:, :, 1].unsqueeze(-1) - predictions[:, :, 1].unsqueeze(-2)).abs()  # (B, N, N)
    similarity = similarity.detach()
    real = targets[:, :, 0]
    assigned = torch.zeros_like(similarity)  # (B, rows, predictions) 0/1
    for group in (real, 1 - real):
        for _ in range(n):
            open_rows = (1 - assigned.sum(-1)) * group  # (B, N)
            if not bool((open_rows > 0).any()):
                break
            free = 1 - assigned.sum(-2)  # (B, N) predictions not yet taken
            scores = similarity * open_rows.unsqueeze(-1) * free.unsqueeze(-2)
            chosen = F.one_hot(scores.argmax(-1), n).to(scores.dtype)  # each row's best prediction
            contested = open_rows.unsqueeze(-1) * chosen * scores
            winner = F.one_hot(contested.argmax(-2), n).transpose(1, 2).to(scores.dtype)  # best row per prediction
            assigned = assigned + open_rows.unsqueeze(-1) * chosen * winner
    permutation = assigned.argmax(-1)  # (B, N)
    return predictions.gather(1, permutation.unsqueeze(-1).expand_as(predictions))


def spotting_loss(targets: torch.Tensor, predictions: torch.Tensor, lambda_coord: float = 5.0,
                  lambda_noobj: float = 0.5) -> torch.Tensor:
    """YOLO-like loss summed over ``(B, N)``: position, confidence (object / no object), class."""
    predictions = match_predictions(targets, predictions)
    y = targets[:, :, 0]
    position = lambda_coord * y * (targets[:, :, 1] - predictions[:, :, 1]) ** 2
    confidence = y * (y - predictions[:, :, 0]) ** 2 + lambda_noobj * (1 - y) * (y - predictions[:, :, 0]) ** 2
    classes = y * ((targets[:, :, 2:] - predictions[:, :, 2:]) ** 2).sum(-1)
    return (position + confidence + classes).sum()


SEGMENTATION_WEIGHT = 0.000367
SPOTTING_WEIGHT = 1.0


def calf_loss(shifts: torch.Tensor, targets: torch.Tensor, segmentation: torch.Tensor,
              spotting: torch.Tensor, k: torch.Tensor, segmentation_weight: float = SEGMENTATION_WEIGHT,
              spotting_weight: float = SPOTTING_WEIGHT) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Total = 0.000367·L_seg + 1.0·L_spot by default; returns (total, L_seg, L_spot)."""
    seg = context_aware_loss(shifts, segmentation, k)
    spot = spotting_loss(targets, spotting)
    return segmentation_weight * seg + spotting_weight * spot, seg, spot
