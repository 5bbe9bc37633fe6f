"""Loss regions, gradient signs, K scaling and the spotting matching."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spotting.encoding import k_frames
from spotting.losses import IGNORE_SHIFT, context_aware_loss, match_predictions, spotting_loss

K = torch.as_tensor(k_frames(2.0), dtype=torch.float32)  # (4, 17) in frames
GOAL = 2  # K (s): -20, -10, 60, 90 → frames -40, -20, 120, 180


def loss_at(shift: float, score: float, k: torch.Tensor = K, cls: int = GOAL) -> tuple[float, float]:
    """Loss and d loss / d score for one frame of class ``cls`` (other classes in their zero zone)."""
    shifts = torch.full((1, 1, 17), -1.0)
    shifts[0, 0, cls] = shift
    scores = torch.full((1, 1, 17), 0.5)
    scores[0, 0, cls] = score
    scores.requires_grad_(True)
    loss = context_aware_loss(shifts, scores, k)
    loss.backward()
    return float(loss.detach()), float(scores.grad[0, 0, cls])


def test_do_not_care_zone_is_exactly_zero() -> None:
    for shift in (-20, -10, -1):  # [K2, 0) for Goal in frames
        for score in (0.01, 0.5, 0.99):
            assert loss_at(shift, score) == (0.0, 0.0)
    assert IGNORE_SHIFT < 0 and (K[1] <= IGNORE_SHIFT).all()  # masked borders fall in that zone


def test_far_from_events_pushes_score_down_with_known_value() -> None:
    value, grad = loss_at(-300, 0.5)
    assert value == pytest.approx(-math.log(0.5) + math.log(0.9), rel=1e-5)
    assert grad > 0  # gradient descent lowers the score
    assert loss_at(-300, 0.05)[0] == 0.0  # already <= 0.1: clipped at zero
    assert loss_at(500, 0.5)[1] > 0  # far after, same


def test_hit_at_event_pushes_score_up() -> None:
    value, grad = loss_at(0, 0.5)
    assert value == pytest.approx(-math.log(0.5) + math.log(0.9), rel=1e-5)
    assert grad < 0  # descent raises the score
    assert loss_at(0, 0.95)[0] == 0.0  # >= 0.9 at the event costs nothing
    # the requirement relaxes with distance after the event: at x = K3/2 a score of 0.5 is enough
    assert loss_at(60, 0.5)[0] == pytest.approx(max(0.0, -math.log(0.5 + 0.5 * 0.5) + math.log(0.9)), abs=1e-6)


def test_miss_ramps_after_k3_and_before_k2() -> None:
    value, grad = loss_at(150, 0.9)  # halfway between K3=120 and K4=180
    assert value == pytest.approx(-math.log(0.1 + 0.9 * 0.5) + math.log(0.9), rel=1e-5)
    assert grad > 0
    value, grad = loss_at(-30, 0.9)  # halfway between K1=-40 and K2=-20
    assert value == pytest.approx(-math.log(0.1 + 0.9 * 0.5) + math.log(0.9), rel=1e-5)
    assert grad > 0


def test_missscaled_k_changes_the_loss() -> None:
    """K in seconds where frames are meant (an OSL bug) would put frame 30 after a goal in the wrong zone."""
    seconds_k = torch.as_tensor(k_frames(1.0), dtype=torch.float32)
    right, _ = loss_at(-30, 0.9, K)  # ramp zone in frames
    wrong, _ = loss_at(-30, 0.9, seconds_k)  # would be far zone
    assert right != pytest.approx(wrong)
    assert loss_at(-15, 0.9, K)[0] == 0.0 and loss_at(-15, 0.9, seconds_k)[0] > 0


def test_matching_prefers_nearest_prediction_and_fills_empty_rows() -> None:
    targets = torch.zeros(1, 3, 4)
    targets[0, 0, :2] = torch.tensor([1.0, 0.8])
    targets[0, 1, :2] = torch.tensor([1.0, 0.2])
    predictions = torch.zeros(1, 3, 4)
    predictions[0, :, 1] = torch.tensor([0.21, 0.5, 0.79])
    matched = match_predictions(targets, predictions)
    assert matched[0, :, 1].tolist() == pytest.approx([0.79, 0.21, 0.5])


def test_spotting_loss_is_zero_for_a_perfect_prediction_and_positive_otherwise() -> None:
    targets = torch.zeros(2, 4, 2 + 17)
    targets[0, 0, :2] = torch.tensor([1.0, 0.3])
    targets[0, 0, 2 + 5] = 1
    perfect = targets.clone()[:, [3, 0, 1, 2]]  # order does not matter
    assert float(spotting_loss(targets, perfect)) == 0.0
    wrong = perfect.clone()
    wrong[0, 1, 1] = 0.5  # position off by 0.2 → 5 · 0.04
    assert float(spotting_loss(targets, wrong)) == pytest.approx(5 * 0.04, rel=1e-5)
    noisy = perfect.clone()
    noisy[1, :, 0] = 0.5  # confidence on empty rows → 0.5 · 0.25 each
    assert float(spotting_loss(targets, noisy)) == pytest.approx(4 * 0.5 * 0.25, rel=1e-5)


def test_losses_are_finite_at_saturated_scores() -> None:
    shifts = torch.as_tensor(np.random.default_rng(0).integers(-300, 300, (2, 50, 17)), dtype=torch.float32)
    for value in (0.0, 1.0):
        scores = torch.full((2, 50, 17), value, requires_grad=True)
        loss = context_aware_loss(shifts, scores, K)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(scores.grad).all()
