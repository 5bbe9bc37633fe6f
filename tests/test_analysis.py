"""spotting.analysis: split-level figures of several models, against SoccerNet's evaluate() and by hand."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from spotting.analysis import class_confusion, match_counts, match_split, per_game_average_map, pr_curves, timing_errors
from spotting.prediction_sets import ModelPredictions, load_model_predictions, model_names
from spotting.errors import InputError
from spotting.metrics import average_map, game_figures
from spotting.average_precision import THRESHOLDS, eleven_point_ap
from spotting.soccernet import CLASS_INDEX, NUM_CLASSES, Annotations, read_labels

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("netvlad_v2", "fusion_2021")
# Three real test games: one lacking 4 of the 17 classes, one whose fusion_2021 file has 4 predictions
# before the half's start, and the first game of the split.
REAL_GAMES = ("england_epl/2015-2016/2015-12-28 - 20-30 Manchester United 0 - 0 Chelsea",
              "italy_serie-a/2016-2017/2016-11-26 - 22-45 Empoli 1 - 4 AC Milan",
              "england_epl/2014-2015/2015-05-17 - 18-00 Manchester United 1 - 1 Arsenal")
ON, OFF = CLASS_INDEX["Shots on target"], CLASS_INDEX["Shots off target"]


def events(rows: list[tuple], visible: list[bool] | None = None) -> Annotations:
    """``rows`` of (half, position_ms, class, confidence)."""
    half, pos, cls, conf = (list(col) for col in zip(*rows)) if rows else ([], [], [], [])
    return Annotations.from_lists(half, pos, cls, visible or [True] * len(rows), [""] * len(rows), conf)


@pytest.fixture(scope="module")
def real(shared_data) -> tuple[list[str], list[Annotations], dict[str, ModelPredictions]]:
    from SoccerNet.utils import getListGames

    games = getListGames("test")
    labels = [read_labels(shared_data / "soccernet" / g / "Labels-v2.json") for g in games]
    models = {m: load_model_predictions(shared_data / "predictions" / m, games) for m in MODELS}
    return games, labels, models


# ---------------------------------------------------------------- per-game Average-mAP vs the official code

def official_single_game(shared_data: Path, tmp: Path, game: str, model: str, metric: str) -> dict:
    """SoccerNet's evaluate() on a SoccerNet-like folder holding only ``game`` (links to the real files)."""
    folder = tmp / model / str(REAL_GAMES.index(game))
    labels_root, predictions_root = folder / "labels", folder / "predictions"
    if not (labels_root / game).is_dir():
        (labels_root / game).mkdir(parents=True)
        (predictions_root / game).mkdir(parents=True)
        os.symlink(shared_data / "soccernet" / game / "Labels-v2.json", labels_root / game / "Labels-v2.json")
        os.symlink(shared_data / "predictions" / model / game / "results_spotting.json",
                   predictions_root / game / "results_spotting.json")
    with contextlib.redirect_stderr(io.StringIO()):  # tqdm bars
        return official_evaluate(str(labels_root), str(predictions_root), split="test", version=2, metric=metric,
                                 dataset=None, EVENT_DICTIONARY=EVENT_DICTIONARY_V2)


@pytest.mark.parametrize("metric", [pytest.param("loose", marks=pytest.mark.slow), "tight"])
def test_per_game_equals_official_evaluate_on_each_game_alone(real, shared_data, tmp_path, metric):
    games, labels, models = real
    index = [games.index(g) for g in REAL_GAMES]
    assert (labels[index[0]].class_index[:, None] == np.arange(NUM_CLASSES)).any(axis=0).sum() == NUM_CLASSES - 4
    assert (models["fusion_2021"].predictions[index[1]].position_ms < 0).sum() == 4
    for model in MODELS:
        figures = per_game_average_map(labels, models[model].predictions, metric)
        assert figures.a_mAP.shape == (100,) and figures.a_mAP_per_class.shape == (100, NUM_CLASSES)
        for game, g in zip(REAL_GAMES, index):
            official = official_single_game(shared_data, tmp_path, game, model, metric)
            assert abs(figures.a_mAP[g] - official["a_mAP"]) <= 1e-9, (model, game)
            np.testing.assert_allclose(figures.a_mAP_per_class[g], official["a_mAP_per_class"], rtol=0, atol=1e-9)
            absent = figures.num_labels[g] == 0
            assert np.all(figures.a_mAP_per_class[g][absent] == 0)
        assert figures.num_labels.sum() == 22526  # every test label once (the overall table's count)
        assert 0.02 < figures.a_mAP.min() < figures.a_mAP.max() < 0.9


# Positions in 250 ms steps so that events share frames (2 fps); a few before the half's start (some
# within one frame of it, some counted from the end of the 120-minute vector) and around its end.
positions = st.one_of(st.integers(0, 240), st.integers(2000, 2300), st.integers(28700, 29300),
                      st.integers(-30, -1)).map(lambda k: k * 250)
confidences = st.one_of(st.sampled_from([0.0, 0.25, 0.5, 0.5, 1.0, 1.5, -0.5, float("nan")]), st.floats(0, 1))


@st.composite
def random_split(draw) -> tuple[list[Annotations], list[Annotations]]:
    classes = draw(st.lists(st.integers(0, NUM_CLASSES - 1), min_size=1, max_size=3, unique=True))
    event = st.tuples(st.sampled_from([1, 2]), positions, st.sampled_from(classes))
    labels, predictions = [], []
    for _ in range(draw(st.integers(1, 4))):
        rows = draw(st.lists(event.filter(lambda e: e[1] >= 0), max_size=10))
        visible = draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
        labels.append(events([(*r, 1.0) for r in rows], visible))
        predictions.append(events(draw(st.lists(st.tuples(event, confidences).map(lambda x: (*x[0], x[1])),
                                                max_size=20))))
    return labels, predictions


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split=random_split(), metric=st.sampled_from(["loose", "tight", "at1", "at3", "at5"]))
def test_per_game_equals_average_map_of_each_game(split, metric):
    labels, predictions = split
    figures = per_game_average_map(labels, predictions, metric)
    for g in range(len(labels)):
        single = average_map([labels[g]], [predictions[g]], metric)
        assert figures.a_mAP[g] == single.a_mAP  # the same operations in the same order: bit-equal
        np.testing.assert_array_equal(figures.a_mAP_per_class[g], single.a_mAP_per_class)
        np.testing.assert_array_equal(figures.num_labels[g], single.num_labels_visible + single.num_labels_unshown)
        np.testing.assert_array_equal(figures.num_predictions[g], single.num_predictions)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split=random_split(), tolerance=st.sampled_from([1, 2, 5, 10, 60]), threshold=st.sampled_from([0.0, 0.3, 1.0]))
def test_match_counts_equal_game_figures_on_random_games(split, tolerance, threshold):
    labels, predictions = split
    counts = match_counts(labels, predictions, tolerance, threshold)
    for g in range(len(labels)):
        f = game_figures(labels[g], predictions[g], tolerance, threshold)
        np.testing.assert_array_equal(counts.tp[g], f.tp)
        np.testing.assert_array_equal(counts.fp[g], f.fp)
        np.testing.assert_array_equal(counts.fn[g], f.fn)
        np.testing.assert_array_equal(counts.num_labels[g], f.num_labels)


def test_empty_split_and_empty_games():
    empty = Annotations.empty()
    figures = per_game_average_map([empty, empty], [empty, empty], "tight")
    np.testing.assert_array_equal(figures.a_mAP, [0.0, 0.0])
    assert per_game_average_map([], [], "loose").a_mAP.shape == (0,)
    counts = match_counts([empty], [empty], 5, 0.5)
    assert counts.tp.shape == (1, NUM_CLASSES) and counts.precision == 0.0 and counts.f1 == 0.0
    cls, err = timing_errors([empty], [empty], 5, 0.5)
    assert cls.shape == err.shape == (0,)
    assert class_confusion([empty], [empty], 5, 0.5).sum() == 0
    with pytest.raises(ValueError, match="one of each per game"):
        per_game_average_map([empty], [])
    with pytest.raises(ValueError, match="threshold"):
        match_counts([empty], [empty], 5, np.zeros(3))


# ---------------------------------------------------------------- matching figures on the real split

def test_match_counts_equal_game_figures_on_real_games(real):
    games, labels, models = real
    per_class = np.linspace(0.05, 0.85, NUM_CLASSES)
    for model in MODELS:
        predictions = models[model].predictions
        for tolerance, threshold in ((10, 0.3), (2, per_class)):
            counts = match_counts(labels, predictions, tolerance, threshold)
            for g in (0, 17, 65, 99):
                f = game_figures(labels[g], predictions[g], tolerance, threshold)
                np.testing.assert_array_equal(counts.tp[g], f.tp)
                np.testing.assert_array_equal(counts.fp[g], f.fp)
                np.testing.assert_array_equal(counts.fn[g], f.fn)
            assert counts.num_labels.sum() == 22526
            np.testing.assert_array_equal(counts.num_predictions, counts.tp + counts.fp)
            tp, fp, fn = counts.tp.sum(), counts.fp.sum(), counts.fn.sum()
            assert counts.precision == pytest.approx(tp / (tp + fp)) and counts.recall == pytest.approx(tp / (tp + fn))
            assert counts.f1 == pytest.approx(2 * counts.precision * counts.recall / (counts.precision + counts.recall))
            assert counts.precision_per_class.shape == (NUM_CLASSES,) and counts.recall_per_game.shape == (100,)
            assert counts.recall_per_game[17] == pytest.approx(counts.tp[17].sum() / counts.num_labels[17].sum())


def test_pr_curves_give_the_official_ap_and_match_counts_points(real):
    games, labels, models = real
    predictions = models["fusion_2021"].predictions
    thresholds, precision, recall = pr_curves(labels, predictions, tolerance_s=5)
    np.testing.assert_array_equal(thresholds, THRESHOLDS)
    assert precision.shape == recall.shape == (200, NUM_CLASSES)
    np.testing.assert_array_equal(eleven_point_ap(precision, recall),
                                  average_map(labels, predictions, metric="at5").a_mAP_per_class)
    for i in (0, 60, 140):
        counts = match_counts(labels, predictions, 5, THRESHOLDS[i])
        np.testing.assert_array_equal(recall[i], counts.recall_per_class)
        np.testing.assert_array_equal(precision[i], counts.precision_per_class)


def test_timing_errors_are_the_matched_pairs_of_the_real_split(real):
    games, labels, models = real
    predictions = models["netvlad_v2"].predictions
    cls, err = timing_errors(labels, predictions, tolerance_s=10, threshold=0.4)
    counts = match_counts(labels, predictions, 10, 0.4)
    assert len(cls) == len(err) == counts.tp.sum()
    np.testing.assert_array_equal(np.bincount(cls, minlength=NUM_CLASSES), counts.tp.sum(axis=0))
    assert np.abs(err).max() <= 5.5  # ±δ/2 on the frame grid: within a frame (0.5 s) of 5 s


# ---------------------------------------------------------------- known answers, by hand

def test_timing_errors_known_answers():
    labels = [events([(1, 60000, 0, 1.0), (2, 30000, 5, 1.0), (1, 200000, 3, 1.0)]),
              events([(1, 10000, 8, 1.0)])]
    predictions = [events([(1, 57000, 0, 0.9),  # 3 s early
                           (2, 31500, 5, 0.8),  # 1.5 s late
                           (1, 190000, 3, 0.9)]),  # 10 s early: outside ± 5 s
                   events([(1, 10000, 8, 0.1),  # exact, but below the threshold
                           (1, 12000, 8, 0.05)])]
    cls, err = timing_errors(labels, predictions, tolerance_s=10, threshold=0.2)
    np.testing.assert_array_equal(cls, [0, 5])
    np.testing.assert_array_equal(err, [-3.0, 1.5])
    cls, err = timing_errors(labels, predictions, tolerance_s=10, threshold=0.0)
    np.testing.assert_array_equal(cls, [0, 5, 8])
    np.testing.assert_array_equal(err, [-3.0, 1.5, 0.0])  # the 0.1 at 0 s beats the 0.05 at +2 s
    per_class = np.full(NUM_CLASSES, 0.95)
    per_class[5] = 0.5
    cls, err = timing_errors(labels, predictions, tolerance_s=10, threshold=per_class)
    np.testing.assert_array_equal(err, [1.5])


def test_class_confusion_counts_false_alarms_near_another_class():
    gt = [(1, 100000, ON, 1.0)]
    # A Shots off target false alarm 2 s from a Shots on target ground truth (δ = 10 s: ± 5 s).
    confusion = class_confusion([events(gt)], [events([(1, 102000, OFF, 0.7)])], 10, 0.5)
    assert confusion[OFF, ON] == 1 and confusion.sum() == 1 and confusion.dtype == np.int64
    # ... not when it is a true positive (a Shots off target ground truth beside it takes it),
    labels = events(gt + [(1, 103000, OFF, 1.0)])
    assert class_confusion([labels], [events([(1, 102000, OFF, 0.7)])], 10, 0.5).sum() == 0
    # nor below the threshold, nor 6 s away, nor in the other half, nor in another game, nor at δ = 2 s.
    assert class_confusion([events(gt)], [events([(1, 102000, OFF, 0.4)])], 10, 0.5).sum() == 0
    assert class_confusion([events(gt)], [events([(1, 106000, OFF, 0.7)])], 10, 0.5).sum() == 0
    assert class_confusion([events(gt)], [events([(2, 102000, OFF, 0.7)])], 10, 0.5).sum() == 0
    assert class_confusion([events(gt), events([])], [events([]), events([(1, 102000, OFF, 0.7)])], 10, 0.5).sum() == 0
    assert class_confusion([events(gt)], [events([(1, 102000, OFF, 0.7)])], 2, 0.5).sum() == 0
    # Two ground truths of one other class count once; a third class counts separately; the matched
    # prediction of the on-target ground truth is no false alarm.
    foul, corner = CLASS_INDEX["Foul"], CLASS_INDEX["Corner"]
    labels = events([(1, 100000, ON, 1.0), (1, 101000, ON, 1.0), (1, 104000, foul, 1.0)])
    predictions = events([(1, 102000, OFF, 0.7), (1, 100000, ON, 0.9), (1, 101500, corner, 0.8)])
    confusion = class_confusion([labels], [predictions], 10, 0.5)
    expected = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    expected[OFF, ON] = expected[OFF, foul] = expected[corner, ON] = expected[corner, foul] = 1
    np.testing.assert_array_equal(confusion, expected)
    assert match_counts([labels], [predictions], 10, 0.5).fp.sum() == 2


def test_match_split_is_reusable_across_thresholds():
    labels = [events([(1, 60000, 0, 1.0), (1, 90000, 0, 1.0)])]
    predictions = [events([(1, 61000, 0, 0.9), (1, 88000, 0, 0.3), (1, 300000, 0, 0.6)])]
    split = match_split(labels, predictions, 10)
    for threshold in (0.0, 0.5, 0.95):
        a, b = split.counts(threshold), match_counts(labels, predictions, 10, threshold)
        np.testing.assert_array_equal(a.tp, b.tp)
        np.testing.assert_array_equal(a.fp, b.fp)
    assert (split.counts(0.0).tp[0, 0], split.counts(0.0).fp[0, 0]) == (2, 1)
    assert (split.counts(0.5).tp[0, 0], split.counts(0.5).fp[0, 0], split.counts(0.5).fn[0, 0]) == (1, 1, 1)


# ---------------------------------------------------------------- reading several models

def write_predictions(root: Path, game: str, rows: list[dict] | str) -> Path:
    path = root / game / "results_spotting.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rows if isinstance(rows, str) else json.dumps({"UrlLocal": game, "predictions": rows}))
    return path


def test_load_model_predictions_collects_missing_corrupt_and_warnings(tmp_path):
    root = tmp_path / "my_model"
    games = ["l/s/a", "l/s/b", "l/s/c", "l/s/d"]
    ok = {"gameTime": "1 - 00:10", "label": "Goal", "position": "10000", "half": "1", "confidence": "0.5"}
    write_predictions(root, games[0], [ok])
    write_predictions(root, games[1], [{**ok, "position": "-2000", "gameTime": "1 - 00:00"}])
    corrupt = write_predictions(root, games[2], '{"predictions": [')
    calls = []
    model = load_model_predictions(root, games, progress=lambda done, total: calls.append((done, total)))
    assert model.name == "my_model" and calls[-1] == (4, 4) and len(calls) == 4
    assert model.missing == ["l/s/d"] and len(model.errors) == 1
    assert str(corrupt) in model.errors[0] and "malformed JSON" in model.errors[0]
    assert len(model.warnings) == 1 and "before the half's start" in model.warnings[0] and games[1] in model.warnings[0]
    assert [len(p) for p in model.predictions] == [1, 1, 0, 0]
    assert model.predictions[1].position_ms[0] == -2000
    np.testing.assert_array_equal(model.evaluated, [True, True, False, False])
    as_empty = load_model_predictions(root, games, missing_as_empty=True, name="other")
    assert as_empty.name == "other"
    np.testing.assert_array_equal(as_empty.evaluated, [True, True, False, True])
    # Unknown labels: skipped by default (as SoccerNet does), an error on request.
    write_predictions(root, games[0], [ok, {**ok, "label": "Bicycle kick"}])
    assert len(load_model_predictions(root, games[:1]).predictions[0]) == 1
    strict = load_model_predictions(root, games[:1], unknown="error")
    assert "'Bicycle kick'" in strict.errors[0] and not strict.evaluated[0]
    with pytest.raises(InputError, match="predictions folder not found"):
        load_model_predictions(tmp_path / "nope", games)


def test_model_names_suffix_repeated_folder_names(tmp_path):
    assert model_names([tmp_path / "a" / "model", tmp_path / "b" / "model", tmp_path / "other",
                        tmp_path / "c" / "model"]) == ["model", "model-2", "other", "model-3"]


# ---------------------------------------------------------------- both real models through the CLI

@pytest.mark.slow
def test_real_models_side_by_side_through_the_cli_equal_the_library(shared_data, real):
    games, labels, models = real
    for metric in ("loose", "tight"):
        run = subprocess.run([sys.executable, "-m", "spotting.evaluate", "--soccernet-dir",
                              str(shared_data / "soccernet"), "--split", "test", "--metric", metric, "--json",
                              "--per-game"] + [arg for m in MODELS for arg in
                                               ("--predictions-dir", str(shared_data / "predictions" / m))],
                             capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert list(result["models"]) == list(MODELS) and result["num_games"] == 100
        for model in MODELS:
            # The library's figures on these files equal evaluate()'s to the bit (test_metrics: NetVLAD,
            # test_results_quirks: fusion); the command line must print exactly the library's.
            library = average_map(labels, models[model].predictions, metric).to_dict()
            for key in ("a_mAP", "a_mAP_per_class", "a_mAP_visible", "a_mAP_per_class_visible", "a_mAP_unshown",
                        "a_mAP_per_class_unshown"):
                np.testing.assert_allclose(result["models"][model][key], np.asarray(library[key], dtype=float), rtol=0,
                                           atol=1e-9, err_msg=f"{model} {metric} {key}")
            per_game = per_game_average_map(labels, models[model].predictions, metric)
            assert [result["per_game"][g][model] for g in games] == per_game.a_mAP.tolist()
        expected = {"loose": (0.3140, 0.3841), "tight": (0.0412, 0.0983)}[metric]
        assert [round(result["models"][m]["a_mAP"], 4) for m in MODELS] == list(expected)
