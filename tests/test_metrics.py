"""spotting.metrics against SoccerNet's own evaluator (real NetVLAD predictions and random games)."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from spotting.metrics import METRICS, average_map, game_figures, match_events
from spotting.average_precision import THRESHOLDS
from spotting.results import read_results
from spotting.soccernet import CLASSES, Annotations, format_game_time, read_labels

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OFFICIAL_KEYS = ("a_mAP", "a_mAP_per_class", "a_mAP_visible", "a_mAP_per_class_visible", "a_mAP_unshown",
                 "a_mAP_per_class_unshown")
HALF_END_MS = 120 * 60 * 1000  # the official vectors end here (frame 14399 at 2 fps)


def assert_equal_figures(ours: dict, official: dict, tol: float = 1e-9) -> None:
    for key in OFFICIAL_KEYS:
        a, b = np.asarray(ours[key], dtype=float), np.asarray(official[key], dtype=float)
        assert a.shape == b.shape, key
        assert np.all(np.abs(a - b) <= tol), (key, a, b)


def run_official(labels_root: Path, predictions_root: Path, metric: str, split: str | None = "test") -> dict:
    with contextlib.redirect_stderr(io.StringIO()):  # tqdm bars
        if split is None:  # every game folder under labels_root (the official inferListGame)
            return official_evaluate(str(labels_root), str(predictions_root), split="test", version=2,
                                     metric=metric, dataset=None, EVENT_DICTIONARY=EVENT_DICTIONARY_V2)
        return official_evaluate(str(labels_root), str(predictions_root), split=split, version=2, metric=metric)


# ---------------------------------------------------------------- real data: 100 NetVLAD test games

@pytest.fixture(scope="module")
def real_test_games() -> tuple[list[Annotations], list[Annotations]]:
    if not (DATA / "predictions" / "netvlad_v2").is_dir():
        pytest.skip(f"real SoccerNet material not found at {DATA}")
    from SoccerNet.utils import getListGames

    names = getListGames("test")
    labels = [read_labels(DATA / "soccernet" / g / "Labels-v2.json") for g in names]
    predictions = [read_results(DATA / "predictions" / "netvlad_v2" / g / "results_spotting.json") for g in names]
    return labels, predictions


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["loose", "tight"])
def test_real_netvlad_predictions_equal_official(real_test_games, metric):
    labels, predictions = real_test_games
    ours = average_map(labels, predictions, metric=metric)
    official = run_official(DATA / "soccernet", DATA / "predictions" / "netvlad_v2", metric)
    assert_equal_figures(ours.to_dict(), official)
    # The figures documented for this material (../shared/docs/evaluation.md).
    expected = {"loose": 0.31401, "tight": 0.04124}[metric]
    assert abs(ours.a_mAP - expected) < 5e-6
    assert ours.num_games == 100 and int(ours.num_predictions.sum()) == 27678


def test_game_figures_ap_equals_single_tolerance_average_map(real_test_games):
    labels, predictions = real_test_games
    for game in (0, 37):
        for tolerance in (1, 3, 5):
            figures = game_figures(labels[game], predictions[game], tolerance_s=tolerance, threshold=0.5)
            single = average_map([labels[game]], [predictions[game]], metric=f"at{tolerance}")
            np.testing.assert_array_equal(figures.ap, single.a_mAP_per_class)
            assert figures.mAP == pytest.approx(single.a_mAP, abs=1e-12)


def test_threshold_counts_match_events_on_thresholded_predictions(real_test_games):
    labels, predictions = real_test_games
    game_labels, game_predictions = labels[3], predictions[3]
    for threshold in (0.0, 0.2, 0.5, 0.8):
        figures = game_figures(game_labels, game_predictions, tolerance_s=10, threshold=threshold)
        kept = game_predictions.select(game_predictions.confidence >= threshold)
        matched = match_events(game_labels, kept, tolerance_s=10)
        assert figures.tp_total == int(matched.prediction_matched.sum())
        assert figures.fp_total == int((~matched.prediction_matched).sum())
        assert figures.fn_total == int((~matched.label_matched).sum())
        per_class_tp = np.bincount(kept.class_index[matched.prediction_matched], minlength=len(CLASSES))
        np.testing.assert_array_equal(figures.tp, per_class_tp)
    assert 0 < figures.tp_total < len(game_labels)


def test_threshold_on_official_grid_is_a_pr_curve_point(real_test_games):
    labels, predictions = real_test_games
    per_class = np.linspace(0.1, 0.9, len(CLASSES))
    figures = game_figures(labels[5], predictions[5], tolerance_s=20, threshold=per_class)
    np.testing.assert_array_equal(figures.threshold, per_class)
    for i in (0, 40, 120, 199):
        at_point = game_figures(labels[5], predictions[5], tolerance_s=20, threshold=THRESHOLDS[i])
        for c in (1, 8, 9):
            thresholds, precision, recall = at_point.pr_curve(c)
            assert thresholds[i] == THRESHOLDS[i]
            assert precision[i] == at_point.precision[c] and recall[i] == at_point.recall[c]
        _, pooled_precision, pooled_recall = at_point.pr_curve(None)
        assert pooled_precision[i] == pytest.approx(at_point.precision_total)
        assert pooled_recall[i] == pytest.approx(at_point.recall_total)
    _, _, recall = figures.pr_curve(None)
    assert np.all(np.diff(recall) <= 0)  # higher thresholds never find more


# ---------------------------------------------------------------- random games vs the official code

def write_game_files(root: Path, name: str, labels: list[dict], predictions: list[dict], numeric: bool) -> None:
    """Official-format files; keeps the given event order (it decides same-frame overwrites)."""
    (root / "labels" / name).mkdir(parents=True)
    (root / "predictions" / name).mkdir(parents=True)
    annotations = [{"gameTime": format_game_time(e["half"], e["position"]), "label": CLASSES[e["class"]],
                    "position": str(e["position"]), "team": "home",
                    "visibility": "visible" if e["visible"] else "not shown"} for e in labels]
    preds = [{"gameTime": format_game_time(e["half"], e["position"]), "label": CLASSES[e["class"]],
              "position": e["position"] if numeric else str(e["position"]),
              "half": e["half"] if numeric else str(e["half"]),
              "confidence": e["confidence"] if numeric else repr(e["confidence"])} for e in predictions]
    (root / "labels" / name / "Labels-v2.json").write_text(json.dumps({"annotations": annotations}))
    (root / "predictions" / name / "results_spotting.json").write_text(json.dumps({"UrlLocal": name,
                                                                                   "predictions": preds}))


def to_annotations(events: list[dict], is_labels: bool) -> Annotations:
    return Annotations.from_lists([e["half"] for e in events], [e["position"] for e in events],
                                  [e["class"] for e in events],
                                  [e.get("visible", True) for e in events], [""] * len(events),
                                  [1.0 if is_labels else e["confidence"] for e in events])


# Positions in 250 ms steps so that several events fall on the same frame (2 fps); three regions:
# the start, the middle, and around/after the end of the official 120-minute vector.
positions = st.one_of(st.integers(0, 240), st.integers(2000, 2300), st.integers(28700, 29300)).map(lambda k: k * 250)
confidences = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.5, 1.0, 1.5, -0.5, float("nan")]), st.floats(0, 1))


@st.composite
def random_game(draw, classes: list[int]) -> tuple[list[dict], list[dict]]:
    event = st.fixed_dictionaries({"half": st.sampled_from([1, 2]), "position": positions,
                                   "class": st.sampled_from(classes)})
    labels = draw(st.lists(event.flatmap(lambda e: st.booleans().map(lambda v: {**e, "visible": v})), max_size=12))
    predictions = draw(st.lists(event.flatmap(lambda e: confidences.map(lambda c: {**e, "confidence": c})),
                                max_size=25))
    return labels, predictions


@st.composite
def random_games(draw) -> list[tuple[list[dict], list[dict]]]:
    # Few classes so that events collide; the 17 - len(classes) others have no ground truth.
    classes = draw(st.lists(st.integers(0, len(CLASSES) - 1), min_size=1, max_size=3, unique=True))
    return draw(st.lists(random_game(classes), min_size=1, max_size=3))


def check_against_official(games: list[tuple[list[dict], list[dict]]], metric: str, numeric: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, (labels, predictions) in enumerate(games):
            write_game_files(root, f"league/season/game {i}", labels, predictions, numeric)
        official = run_official(root / "labels", root / "predictions", metric, split=None)
        # In memory, straight from the generated events ...
        ours = average_map([to_annotations(lab, True) for lab, _ in games],
                           [to_annotations(pred, False) for _, pred in games], metric=metric)
        assert_equal_figures(ours.to_dict(), official)
        # ... and through the file readers.
        names = [f"league/season/game {i}" for i in range(len(games))]
        read = average_map([read_labels(root / "labels" / n / "Labels-v2.json") for n in names],
                           [read_results(root / "predictions" / n / "results_spotting.json") for n in names],
                           metric=metric)
        assert_equal_figures(read.to_dict(), official)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])  # each calls evaluate() twice
@given(games=random_games(), metric=st.sampled_from(["at1", "at2", "at5", "tight"]), numeric=st.booleans())
def test_random_games_equal_official(games, metric, numeric):
    check_against_official(games, metric, numeric)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(games=random_games())
def test_random_games_equal_official_loose(games):
    check_against_official(games, "loose", numeric=False)


def test_edge_cases_equal_official():
    """The listed edge cases, each present for sure (hypothesis finds them only by chance)."""
    end = HALF_END_MS
    game_a = (  # labels: "not shown", past the end, two on one frame (the later visibility wins)
        [{"half": 1, "position": 30000, "class": 0, "visible": False},
         {"half": 1, "position": 30400, "class": 0, "visible": True},
         {"half": 1, "position": 60000, "class": 0, "visible": True},
         {"half": 2, "position": end + 90000, "class": 3, "visible": True},
         {"half": 2, "position": 10000, "class": 3, "visible": False}],
        # predictions: past the end, same frame and class (the later one overwrites), ties, negative
        [{"half": 1, "position": 31000, "class": 0, "confidence": 0.9},
         {"half": 1, "position": 31200, "class": 0, "confidence": 0.2},
         {"half": 1, "position": 33000, "class": 0, "confidence": 0.6},
         {"half": 1, "position": 57000, "class": 0, "confidence": 0.6},
         {"half": 2, "position": end + 500000, "class": 3, "confidence": 0.7},
         {"half": 2, "position": 11000, "class": 3, "confidence": 0.4},
         {"half": 2, "position": 11200, "class": 3, "confidence": -1.0},
         {"half": 1, "position": 5000, "class": 9, "confidence": 0.8}])  # class without ground truth
    game_b = ([{"half": 1, "position": 5000, "class": 0, "visible": True}], [])  # no predictions
    game_c = ([], [{"half": 2, "position": 1000, "class": 0, "confidence": 0.5}])  # no labels
    game_d = (  # equal scores: the first ground truth must take the earlier frame, leaving one for the next
        [{"half": 1, "position": 10000, "class": 1, "visible": True},
         {"half": 1, "position": 13000, "class": 1, "visible": False}],
        [{"half": 1, "position": 9000, "class": 1, "confidence": 0.5},
         {"half": 1, "position": 11000, "class": 1, "confidence": 0.5}])
    for metric in ("at1", "at3", "at5", "tight"):
        check_against_official([game_a, game_b, game_c, game_d], metric, numeric=False)
    check_against_official([game_b], "at2", numeric=True)  # no prediction at all


# ---------------------------------------------------------------- matching and figures, by hand

def events(rows: list[tuple[int, int, int, float]], visible: list[bool] | None = None) -> Annotations:
    """``rows`` of (half, position_ms, class, confidence)."""
    half, pos, cls, conf = (list(col) for col in zip(*rows)) if rows else ([], [], [], [])
    return Annotations.from_lists(half, pos, cls, visible or [True] * len(rows), [""] * len(rows), conf)


def test_match_events_greedy_in_frame_order():
    labels = events([(1, 10000, 0, 1.0), (1, 14000, 0, 1.0)])  # frames 20 and 28
    predictions = events([(1, 15000, 0, 0.9), (1, 5000, 0, 0.5), (1, 21000, 0, 0.8)])  # frames 30, 10, 42
    m = match_events(labels, predictions, tolerance_s=10)  # within ±5 s = ±10 frames
    # The first ground truth takes the best candidate (frame 30), which the second needed too.
    np.testing.assert_array_equal(m.label_matched, [True, False])
    np.testing.assert_array_equal(m.prediction_matched, [True, False, False])
    np.testing.assert_array_equal(m.label_prediction, [0, -1])
    np.testing.assert_array_equal(m.prediction_label, [0, -1, -1])
    assert m.prediction_evaluated.all()

    # A later prediction on frame 30 overwrites the 0.9 one; then both ground truths find one.
    overwritten = events([(1, 15000, 0, 0.9), (1, 5000, 0, 0.5), (1, 21000, 0, 0.8), (1, 15200, 0, 0.1)])
    m = match_events(labels, overwritten, tolerance_s=10)
    np.testing.assert_array_equal(m.prediction_evaluated, [False, True, True, True])
    np.testing.assert_array_equal(m.prediction_matched, [False, True, False, True])
    np.testing.assert_array_equal(m.label_prediction, [1, 3])

    m = match_events(labels, predictions, tolerance_s=1)  # ±1 frame: nothing close enough
    assert not m.label_matched.any() and not m.prediction_matched.any()


def test_match_events_ties_take_the_earliest_frame_and_clip_at_the_end():
    # Frames 20 and 26; equal scores at frames 18 and 22 (window ±5 frames): the first ground truth
    # takes frame 18, so frame 22 is still there for the second.
    m = match_events(events([(1, 10000, 1, 1.0), (1, 13000, 1, 1.0)]),
                     events([(1, 11000, 1, 0.5), (1, 9000, 1, 0.5)]), tolerance_s=5)
    np.testing.assert_array_equal(m.label_prediction, [1, 0])
    labels = events([(1, 20000, 2, 1.0), (2, HALF_END_MS + 60000, 2, 1.0), (2, HALF_END_MS + 90000, 2, 1.0)])
    predictions = events([(1, 22000, 2, 0.5), (1, 18000, 2, 0.5), (2, HALF_END_MS - 400, 2, 0.3)])
    m = match_events(labels, predictions, tolerance_s=5)
    np.testing.assert_array_equal(m.prediction_matched, [False, True, True])
    # Both labels past the end sit on the last frame: one merged ground truth, matched for both.
    np.testing.assert_array_equal(m.label_matched, [True, True, True])
    np.testing.assert_array_equal(m.label_prediction, [1, 2, 2])
    figures = game_figures(labels, predictions, tolerance_s=5, threshold=0.0)
    assert figures.num_labels[2] == 2 and figures.tp[2] == 2 and figures.fn[2] == 0 and figures.fp[2] == 1


def test_game_figures_counts_and_ratios():
    labels = events([(1, 10000, 0, 1.0), (1, 50000, 0, 1.0), (2, 10000, 4, 1.0)])
    predictions = events([(1, 11000, 0, 0.9), (1, 90000, 0, 0.7), (1, 49000, 0, 0.3), (2, 9000, 7, 0.6)])
    f = game_figures(labels, predictions, tolerance_s=4, threshold=0.5)
    assert (f.tp[0], f.fp[0], f.fn[0]) == (1, 1, 1)
    assert (f.tp[4], f.fp[4], f.fn[4]) == (0, 0, 1)
    assert (f.tp[7], f.fp[7], f.fn[7]) == (0, 1, 0)
    assert f.precision[0] == 0.5 and f.recall[0] == 0.5 and f.precision[4] == 0.0 and f.recall[7] == 0.0
    assert (f.tp_total, f.fp_total, f.fn_total) == (1, 2, 2)
    assert f.precision_total == pytest.approx(1 / 3) and f.recall_total == pytest.approx(1 / 3)
    # Class 0: at thresholds <= 0.3 both found with 3 predictions (P 2/3, R 1), up to 0.7 P 1/2 R 1/2,
    # up to 0.9 P 1 R 1/2: 11-point AP = (6 * 1 + 5 * 2/3) / 11.
    assert f.ap[0] == pytest.approx((6 + 5 * 2 / 3) / 11)
    assert f.ap[4] == 0.0 and f.ap[7] == 0.0
    per_class = np.zeros(len(CLASSES))
    per_class[0] = 0.95
    g = game_figures(labels, predictions, tolerance_s=4, threshold=per_class)
    assert (g.tp[0], g.fp[0], g.fp[7]) == (0, 0, 1)
    np.testing.assert_array_equal(g.ap, f.ap)  # AP does not depend on the threshold


def test_empty_inputs_and_bad_arguments():
    empty = Annotations.empty()
    result = average_map([empty, empty], [empty, empty], metric="tight")
    assert result.a_mAP == 0.0 and result.num_games == 2
    figures = game_figures(empty, empty, tolerance_s=5, threshold=0.5)
    assert figures.tp_total == 0 and figures.mAP == 0.0
    m = match_events(empty, empty, tolerance_s=5)
    assert m.label_matched.shape == (0,) and m.prediction_matched.shape == (0,)
    with pytest.raises(ValueError, match="unknown metric"):
        average_map([empty], [empty], metric="medium")
    with pytest.raises(ValueError, match="one of each per game"):
        average_map([empty], [empty, empty])
    with pytest.raises(ValueError, match="threshold"):
        game_figures(empty, empty, tolerance_s=5, threshold=np.zeros(3))


def test_to_dict_has_plain_values_for_every_metric():
    labels = events([(1, 10000, 0, 1.0), (2, 20000, 5, 1.0)], visible=[True, False])
    predictions = events([(1, 11000, 0, 0.8), (2, 30000, 5, 0.4)])
    for metric in METRICS:
        d = average_map([labels], [predictions], metric=metric).to_dict()
        assert set(d) == set(OFFICIAL_KEYS)
        assert all(type(v) is float for k, v in d.items() if not k.startswith("a_mAP_per_class"))
        assert all(type(v) is float and len(d[k]) == 17 for k in d if k.startswith("a_mAP_per_class") for v in d[k])
        json.dumps(d)


def test_match_events_with_no_predictions_misses_every_label() -> None:
    from spotting.metrics import match_events
    from spotting.soccernet import Annotations

    labels = Annotations.from_lists([1, 2], [1000, 5000], [2, 9], [True, False], ["", ""], [1.0, 1.0])
    match = match_events(labels, Annotations.empty(), 5.0)
    assert match.label_matched.tolist() == [False, False] and match.prediction_matched.size == 0
