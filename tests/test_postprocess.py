"""NMS and thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spotting.infer import GameScores, HalfScores
from spotting.postprocess import Refinement, SpottingConfig, apply_thresholds, detect_events, nms_events, spot_events
from spotting.suppression import SUPPRESSIONS, nms_candidates, nms_dense, score_decay, soft_nms, window_radius
from spotting.soccernet import Annotations


def greedy_nms(scores: np.ndarray, radius: int) -> np.ndarray:
    """Textbook greedy NMS, one class column at a time."""
    keep = np.zeros(scores.shape, bool)
    for c in range(scores.shape[1]):
        left = np.where(scores[:, c] > 0, scores[:, c], -1.0)
        while left.max() > 0:
            i = int(np.argmax(left))  # first index on ties
            keep[i, c] = True
            left[max(0, i - radius): i + radius + 1] = -1
    return keep


@settings(max_examples=60, deadline=None)
@given(num_frames=st.integers(1, 600), radius=st.integers(-1, 50), density=st.floats(0.0, 0.5), seed=st.integers(0, 10**6))
def test_round_based_nms_equals_greedy(num_frames: int, radius: int, density: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.where(rng.random((num_frames, 4)) < density, rng.integers(1, 6, (num_frames, 4)) / 5, 0.0)  # many ties
    keep = nms_dense(scores, np.full(4, radius))
    expected = scores > 0 if radius < 0 else greedy_nms(scores, radius)
    np.testing.assert_array_equal(keep, expected)


@settings(max_examples=40, deadline=None)
@given(threshold=st.floats(0, 1), seed=st.integers(0, 10**6))
def test_threshold_and_nms_commute(threshold: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.where(rng.random((500, 17)) < 0.05, rng.random((500, 17)), 0.0)
    radius = np.full(17, 19)
    after = nms_dense(scores, radius) & (scores >= threshold)
    before_scores = np.where(scores >= threshold, scores, 0)
    before = nms_dense(before_scores, radius)
    np.testing.assert_array_equal(after & (scores > 0), before)


def test_window_radius_matches_20_seconds() -> None:
    assert window_radius(np.array([20.0]), 2.0).tolist() == [19]  # neighbours strictly within ±10 s
    assert window_radius(np.array([0.0]), 2.0).tolist() == [-1]  # no suppression


def _scores() -> GameScores:
    detection = np.zeros((400, 17), np.float32)
    detection[100, 2] = 0.9
    detection[110, 2] = 0.8  # 5 s later: suppressed by the first with a 20 s window
    detection[300, 2] = 0.3
    detection[50, 9] = 0.6
    half = HalfScores(np.zeros((400, 17), np.float32), detection, 2.0)
    return GameScores({1: half, 2: HalfScores(np.zeros((10, 17), np.float32), np.zeros((10, 17), np.float32), 2.0)}, "cpu", 0.0)


def test_detect_events_positions_and_per_class_windows() -> None:
    events = detect_events(_scores())
    assert sorted(zip(events.position_ms.tolist(), events.class_index.tolist())) == [(25000, 9), (50000, 2), (150000, 2)]
    assert events.frames(2.0).tolist() == [int(p / 500) for p in events.position_ms]
    narrow = detect_events(_scores(), SpottingConfig(class_nms_windows_s={2: 4.0}))
    assert len(narrow) == 4


def test_thresholds_global_and_per_class() -> None:
    events = detect_events(_scores())
    assert len(apply_thresholds(events, 0.5)) == 2
    assert len(apply_thresholds(events, 0.5, {9: 0.7})) == 1
    assert len(spot_events(_scores(), SpottingConfig(threshold=0.0, class_thresholds={2: 0.95}))) == 1


def test_nms_on_a_results_list_keeps_the_best_of_a_cell() -> None:
    events = Annotations.from_lists([1, 1, 1, 2], [1000, 1200, 8000, 1000], [3, 3, 3, 3], [True] * 4, [""] * 4,
                                    [0.2, 0.7, 0.5, 0.1])
    kept = nms_events(events, SpottingConfig(nms_window_s=20.0))
    assert sorted(zip(kept.half.tolist(), kept.position_ms.tolist())) == [(1, 1200), (2, 1000)]
    assert len(nms_events(events, SpottingConfig(nms_window_s=0.0))) == 4


def test_refinement_moves_events_to_the_segmentation_rise() -> None:
    from spotting.postprocess import refine_positions

    segmentation = np.zeros((400, 17), np.float32)
    segmentation[150:200, 2] = 0.9  # the Goal curve jumps between frames 149 and 150
    scores = GameScores({1: HalfScores(segmentation, np.zeros((400, 17), np.float32), 2.0)}, "cpu", 0.0)
    events = Annotations.from_lists([1, 1, 1], [70_000, 40_000, 70_000], [2, 2, 9], [True] * 3, [""] * 3, [0.9, 0.8, 0.7])
    refined = refine_positions(events, scores, Refinement.uniform(15.0, 0.5))
    # frame 140 → rise at 150, one frame of lag → 151; frame 80 is 35 s away (outside ±15 s): kept;
    # the Throw-in curve is flat: kept
    assert refined.frames(2.0).tolist() == [151, 80, 140]
    assert refine_positions(events, scores, Refinement.uniform(0.0)) is events
    detection = np.zeros((400, 17), np.float32)
    detection[140, 2] = 0.9
    detection[160, 2] = 0.5  # 10 s later: both refine to 151, NMS keeps the better one
    both = GameScores({1: HalfScores(segmentation, detection, 2.0)}, "cpu", 0.0)
    assert [(f, c) for f, c in zip(detect_events(both, SpottingConfig(nms_window_s=6.0)).frames(2.0), detect_events(both, SpottingConfig(nms_window_s=6.0)).confidence)] == [(151, np.float32(0.9))]
    assert sorted(detect_events(both, SpottingConfig(nms_window_s=6.0, refinement=Refinement.uniform(0.0))).frames(2.0).tolist()) == [140, 160]


def test_refinement_finds_a_rise_at_the_very_start_of_the_half() -> None:
    """A Kick-off curve already high at frame 0 rose at the half's start (0 before it), not at a
    later wiggle."""
    from spotting.postprocess import refine_positions

    segmentation = np.zeros((400, 17), np.float32)
    segmentation[0:30, 1] = 0.8
    segmentation[12:14, 1] = 0.85  # a small later rise inside the window
    scores = GameScores({1: HalfScores(segmentation, np.zeros((400, 17), np.float32), 2.0)}, "cpu", 0.0)
    events = Annotations.from_lists([1], [4_000], [1], [True], [""], [0.9])
    assert refine_positions(events, scores, Refinement.uniform(15.0, 0.5)).frames(2.0).tolist() == [1]


# -- soft-NMS ---------------------------------------------------------------------------------------

def reference_soft_nms(frames, classes, confidence, radius, decay):
    """Soft-NMS one event at a time, as written in Bodla et al. (2017), per class: the best remaining
    event (ties: earlier frame, then earlier index) is kept with its score; every other remaining
    event of its class is decayed by f(tIoU) of intervals ``radius + 1`` frames wide; 0 → dropped."""
    n = len(frames)
    keep, scores = np.zeros(n, bool), np.asarray(confidence, float).copy()
    for c in set(classes.tolist()):
        r = int(radius[c])
        left = [i for i in range(n) if classes[i] == c]
        if r < 0:
            keep[left] = True
            continue
        while left:
            i = min(left, key=lambda j: (-scores[j], frames[j], j))
            keep[i] = True
            left.remove(i)
            for j in list(left):
                d, w = abs(int(frames[j]) - int(frames[i])), r + 1
                scores[j] *= float(decay(np.array([max(w - d, 0) / (w + d)]))[0])
                if scores[j] <= 0:
                    left.remove(j)
    return keep, scores


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 80), radius=st.lists(st.integers(-1, 30), min_size=3, max_size=3),
       kind=st.sampled_from(SUPPRESSIONS), sigma=st.floats(0.05, 2.0), seed=st.integers(0, 10**6))
def test_soft_nms_equals_the_per_event_reference(n: int, radius: list[int], kind: str, sigma: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 200, n)  # repeated frames included
    classes = rng.integers(0, 3, n)
    confidence = rng.integers(1, 8, n) / 7  # many ties
    decay = score_decay(kind, sigma)
    keep, scores = soft_nms(frames, classes, confidence, np.array(radius), decay)
    expected_keep, expected_scores = reference_soft_nms(frames, classes, confidence, np.array(radius), decay)
    np.testing.assert_array_equal(keep, expected_keep)
    np.testing.assert_allclose(scores[keep], expected_scores[keep], rtol=1e-12, atol=0)


@settings(max_examples=40, deadline=None)
@given(num_frames=st.integers(1, 400), radius=st.integers(-1, 40), density=st.floats(0.0, 0.5), seed=st.integers(0, 10**6))
def test_hard_nms_is_the_limit_case_of_soft_nms(num_frames: int, radius: int, density: float, seed: int) -> None:
    """The hard decay in the soft-NMS loop is greedy NMS; so is the Gaussian decay as sigma → 0 (every
    suppressed event decayed to nothing); the kept events keep their scores."""
    rng = np.random.default_rng(seed)
    scores = np.where(rng.random((num_frames, 4)) < density, rng.integers(1, 6, (num_frames, 4)) / 5, 0.0)
    frames, classes = np.nonzero(scores > 0)
    r = np.full(4, radius)
    hard = nms_candidates(frames, classes, scores[frames, classes], r)
    keep, decayed = soft_nms(frames, classes, scores[frames, classes], r, score_decay("hard"))
    np.testing.assert_array_equal(keep, hard)
    np.testing.assert_array_equal(decayed[keep], scores[frames, classes][keep])
    keep, decayed = soft_nms(frames, classes, scores[frames, classes], r, score_decay("gaussian", 1e-6))
    np.testing.assert_array_equal(keep & (decayed > 1e-30), hard)
    np.testing.assert_array_equal(decayed[hard], scores[frames, classes][hard])


def test_soft_nms_keeps_neighbours_with_decayed_scores() -> None:
    events = Annotations.from_lists([1, 1, 1], [10_000, 15_000, 60_000], [2, 2, 2], [True] * 3, [""] * 3, [0.9, 0.8, 0.5])
    linear = nms_events(events, SpottingConfig(suppression="linear"))  # 20 s window: radius 19, w = 20 frames
    # the 0.8 event is 10 frames from the 0.9 one: tIoU (20 - 10) / (20 + 10) = 1/3, so 0.8 · 2/3
    assert sorted(zip(linear.position_ms.tolist(), linear.confidence.round(6).tolist())) == [
        (10_000, 0.9), (15_000, round(0.8 * 2 / 3, 6)), (60_000, 0.5)]
    gaussian = nms_events(events, SpottingConfig(suppression="gaussian", soft_sigma=0.5))
    assert gaussian.confidence[gaussian.position_ms == 15_000][0] == pytest.approx(0.8 * np.exp(-(1 / 3) ** 2 / 0.5))
    assert len(nms_events(events, SpottingConfig())) == 2  # hard: suppressed
    # the whole pipeline: soft settings keep the neighbour the hard ones drop, at a lower score
    soft = detect_events(_scores(), SpottingConfig(suppression="linear"))
    hard = detect_events(_scores())
    assert len(soft) == len(hard) + 1 and soft.confidence.min() < 0.8


# -- the settings object ----------------------------------------------------------------------------

def test_settings_are_one_frozen_plain_object_that_round_trips_through_a_checkpoint(tmp_path) -> None:
    import dataclasses

    import torch

    from spotting.checkpoint import load_checkpoint, save_checkpoint
    from spotting.model import CALF, ModelConfig
    from spotting.specs import SOCCERNET_V2

    settings_ = SpottingConfig(threshold=0.1, class_thresholds={3: 0.4}, nms_window_s=12.0,
                               class_nms_windows_s={2: 4.0, 0: 30.0}, suppression="gaussian", soft_sigma=0.3,
                               refinement=Refinement.uniform(5.0, 1.5))
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings_.nms_window_s = 3.0
    assert hash(settings_) == hash(SpottingConfig(**{f.name: getattr(settings_, f.name)
                                                    for f in dataclasses.fields(settings_)}))
    assert settings_.nms_windows(4).tolist() == [30.0, 12.0, 4.0, 12.0]
    with pytest.raises(ValueError, match="hard, linear, gaussian"):
        SpottingConfig(suppression="soft")
    path = save_checkpoint(tmp_path / "m.pt", CALF(ModelConfig(feature_dim=8)), "f.npy",
                           postprocessing=settings_.to_dict())
    raw = torch.load(path, weights_only=True)  # plain data only
    assert raw["info"]["postprocessing"]["suppression"] == "gaussian"
    loaded = load_checkpoint(path, "cpu")
    assert SpottingConfig.from_checkpoint_info(loaded.info, loaded.spec) == settings_
    assert Refinement.from_checkpoint_info(loaded.info) == settings_.refinement
    # an older checkpoint: its calibrated refinement, the task's default window, hard NMS
    old = {"refinement": Refinement.uniform(5.0, 1.5).to_dict()}
    assert SpottingConfig.from_checkpoint_info(old, SOCCERNET_V2) == SpottingConfig(refinement=Refinement.uniform(5.0, 1.5))
    assert SpottingConfig.from_checkpoint_info({}) == SpottingConfig()
    damaged = {"postprocessing": {"suppression": "from-the-future", "nms_window_s": "x"}}
    assert SpottingConfig.from_checkpoint_info(damaged) == SpottingConfig()
