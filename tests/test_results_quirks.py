"""Results files as real models write them: read as SoccerNet's evaluate() reads them, figures equal to
it, and the user told what was unusual (one warning per file).

Real: ``fusion_2021`` holds 66 predictions with a negative position in 45 of its 100 test files. Built:
one small game per kind (negative positions on both sides of -500 ms, past 120 minutes, confidences
outside [0, 1] or not finite, halves 3 and 1.5, missing and inconsistent gameTime, duplicates on one
frame and class), each compared with the official evaluator.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from spotting.evaluate import evaluate_folder, load_evaluation_set
from spotting.errors import InputError
from spotting.metrics import average_map
from spotting.results import parse_results_file, read_results_file
from spotting.soccernet import CLASSES, format_game_time

ROOT = Path(__file__).resolve().parents[1]
KEYS = ("a_mAP", "a_mAP_per_class", "a_mAP_visible", "a_mAP_per_class_visible", "a_mAP_unshown",
        "a_mAP_per_class_unshown")
GAME = "league/2020-2021/2020-01-01 - 20-00 Home 1 - 0 Away"


def official(labels_root: Path, predictions_root: Path, metric: str, split: str | None = None) -> dict:
    with contextlib.redirect_stderr(io.StringIO()):
        if split is None:
            return official_evaluate(str(labels_root), str(predictions_root), split="test", version=2, metric=metric,
                                     dataset=None, EVENT_DICTIONARY=EVENT_DICTIONARY_V2)
        return official_evaluate(str(labels_root), str(predictions_root), split=split, version=2, metric=metric)


def assert_equal(ours: dict, theirs: dict) -> None:
    for key in KEYS:
        np.testing.assert_allclose(np.asarray(ours[key], float), np.asarray(theirs[key], float), rtol=0, atol=1e-9,
                                   err_msg=key)


def prediction(label: str, ms, half=1, confidence=0.8, game_time: object = "auto") -> dict:
    item = {"label": label, "position": ms, "half": half, "confidence": confidence}
    if game_time == "auto":
        try:
            item["gameTime"] = format_game_time(int(half), max(0, int(float(ms))))
        except (OverflowError, ValueError):  # a position no clock can show (the file is refused anyway)
            item["gameTime"] = "1 - 00:00"
    elif game_time is not None:
        item["gameTime"] = game_time
    return item


def write_game(root: Path, predictions: list[dict]) -> tuple[Path, Path]:
    """A one-game SoccerNet folder with labels spread over both halves, and its predictions."""
    rng = np.random.default_rng(7)
    annotations = []
    for i in range(60):
        half, ms, label = 1 + i % 2, int(rng.integers(0, 2_800_000)), CLASSES[i % 17]
        annotations.append({"gameTime": format_game_time(half, ms), "label": label, "position": str(ms),
                            "team": "home", "visibility": "not shown" if i % 7 == 0 else "visible"})
    # Ground truth right at the start and at the end of the 120-minute vector, where clipped predictions land.
    annotations += [{"gameTime": "1 - 00:00", "label": "Kick-off", "position": "0", "visibility": "visible"},
                    {"gameTime": "1 - 119:59", "label": "Goal", "position": "7199600", "visibility": "visible"}]
    labels_root, predictions_root = root / "labels", root / "predictions"
    (labels_root / GAME).mkdir(parents=True)
    (labels_root / GAME / "Labels-v2.json").write_text(json.dumps({"annotations": annotations}))
    (predictions_root / GAME).mkdir(parents=True)
    (predictions_root / GAME / "results_spotting.json").write_text(
        json.dumps({"UrlLocal": GAME, "predictions": predictions}))
    return labels_root, predictions_root


def base_predictions() -> list[dict]:
    rng = np.random.default_rng(3)
    return [prediction(CLASSES[i % 17], str(int(rng.integers(0, 2_800_000))), half=str(1 + i % 2),
                       confidence=str(float(rng.random()))) for i in range(80)]


KINDS = {
    # name: (extra predictions, the phrase its note must contain)
    "negative": ([prediction("Kick-off", "-400"), prediction("Penalty", "-499", confidence=0.9),
                  prediction("Goal", "-500"), prediction("Goal", "-1000", half="2"), prediction("Foul", "-3000")],
                 "5 predictions before the half's start"),
    "past-120-min": ([prediction("Goal", "7300000"), prediction("Corner", 1e30, confidence=0.3)],
                     "2 predictions past 120 minutes"),
    "confidence-range": ([prediction("Corner", "100000", confidence="1.7"), prediction("Corner", "300000", confidence=-0.2)],
                         "2 confidences outside [0, 1]"),
    "non-finite": ([prediction("Corner", "110000", confidence="nan"), prediction("Corner", "120000", confidence="inf"),
                    prediction("Corner", "130000", confidence="-inf")], "3 confidences not finite"),
    "odd-half": ([prediction("Foul", "50000", half="3"), prediction("Foul", "60000", half=0)],
                 "2 predictions with a half other than 1 or 2"),
    "fractional-half": ([prediction("Foul", "70000", half=1.5)], "1 half not a whole number"),
    "no-game-time": ([prediction("Offside", "80000", game_time=None)], "1 prediction without a gameTime"),
    "bad-game-time": ([prediction("Offside", "90000", game_time="1 - 26:70"),
                       prediction("Offside", "95000", game_time="2 - 01:35")], "2 gameTimes disagreeing"),
    "duplicates": ([prediction("Clearance", "200000", confidence=0.9), prediction("Clearance", "200400", confidence=0.1)],
                   "1 prediction on the same frame and class as a later one"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_unusual_kind_gets_its_own_note_naming_the_file(kind, tmp_path):
    extra, phrase = KINDS[kind]
    _, predictions_root = write_game(tmp_path, base_predictions() + extra)
    path = predictions_root / GAME / "results_spotting.json"
    read = read_results_file(path)
    assert read.warning is not None and read.warning.startswith(str(path)) and phrase in read.warning, read.warning
    assert len(read.notes) == 1, read.notes  # only this kind: the base predictions are ordinary


def test_every_unusual_kind_together_gives_the_official_figures(tmp_path):
    """One file holding every kind above (the official evaluator takes ~1 s per call, so one call per metric)."""
    extra = [item for predictions, _ in KINDS.values() for item in predictions]
    labels_root, predictions_root = write_game(tmp_path, base_predictions() + extra)
    assert len(read_results_file(predictions_root / GAME / "results_spotting.json").notes) == len(KINDS)
    for metric in ("loose", "tight", "at1"):
        ours = evaluate_folder(labels_root, predictions_root, metric=metric)
        assert_equal(ours.to_dict(), official(labels_root, predictions_root, metric))


def test_ordinary_file_has_no_notes(tmp_path):
    _, predictions_root = write_game(tmp_path, base_predictions())
    assert read_results_file(predictions_root / GAME / "results_spotting.json").warning is None


@pytest.mark.parametrize("ms,found", [("-400", True), ("-600", False)])
def test_negative_positions_land_where_the_official_vector_puts_them(tmp_path, ms, found):
    """-400 ms is frame 0 at 2 fps (int() truncates toward zero) and finds the kick-off at 0:00; -600 ms is
    frame -1, i.e. the last frame of the 120-minute vector, where it can only be a false alarm."""
    labels_root, predictions_root = write_game(tmp_path, [prediction("Kick-off", ms, confidence=0.9)])
    ours = evaluate_folder(labels_root, predictions_root, metric="at1")
    kick_off = CLASSES.index("Kick-off")
    assert (ours.a_mAP_per_class[kick_off] > 0) == found
    assert_equal(ours.to_dict(), official(labels_root, predictions_root, "at1"))


def test_a_negative_position_can_match_a_ground_truth_at_the_vector_end(tmp_path):
    """Officially -1000 ms is frame -2 = 14398, one frame from a Goal at 7199.6 s (frame 14399): a match at δ = 1 s."""
    labels_root, predictions_root = write_game(tmp_path, [prediction("Goal", "-1000", confidence=0.9)])
    ours = evaluate_folder(labels_root, predictions_root, metric="at1")
    assert ours.a_mAP_per_class[CLASSES.index("Goal")] > 0
    assert_equal(ours.to_dict(), official(labels_root, predictions_root, "at1"))


@pytest.mark.parametrize("bad", [
    prediction("Goal", "-7300000"),  # before -120 min: an IndexError in the official code
    prediction("Goal", "1e30"),  # int("1e30") fails officially too
    prediction("Goal", math.inf),  # int(inf): OverflowError
    prediction("Goal", "12.5"),
    {"label": "Goal", "half": "1", "confidence": "0.5"},  # no position
])
def test_what_the_official_evaluator_cannot_read_is_refused_naming_the_file(bad):
    with pytest.raises(InputError) as error:
        parse_results_file({"predictions": [prediction("Goal", "1000"), bad]}, "model/results_spotting.json")
    assert "model/results_spotting.json" in str(error.value) and "prediction 1" in str(error.value)


def test_deeply_nested_json_is_refused_not_a_recursion_error(tmp_path):
    path = tmp_path / "results_spotting.json"
    path.write_text('{"predictions": ' + "[" * 5000 + "]" * 5000 + "}")
    with pytest.raises(InputError, match="nested too deeply"):
        read_results_file(path)


# ------------------------------------------------------------------------------ the real fusion_2021 files

@pytest.fixture(scope="module")
def fusion(shared_data):
    return load_evaluation_set(shared_data / "soccernet", shared_data / "predictions" / "fusion_2021", split="test")


def test_real_fusion_files_warn_once_per_file_with_negative_positions(fusion):
    negative = [w for w in fusion.warnings if "before the half's start" in w]
    assert len(negative) == 45
    counts = [int(w.split(": ", 1)[1].split(" prediction")[0]) for w in negative]
    assert sum(counts) == 66
    assert len(fusion.warnings) == len(set(fusion.warnings)) == 100  # every file's gameTimes disagree somewhere
    assert sum(int((p.position_ms < 0).sum()) for p in fusion.predictions) == 66


@pytest.mark.slow
@pytest.mark.parametrize("metric,expected", [("loose", 0.3841), ("tight", 0.0983)])
def test_real_fusion_figures_equal_official_evaluate(fusion, shared_data, metric, expected):
    ours = average_map(fusion.labels, fusion.predictions, metric=metric)
    assert_equal(ours.to_dict(), official(shared_data / "soccernet", shared_data / "predictions" / "fusion_2021",
                                          metric, split="test"))
    assert abs(ours.a_mAP - expected) < 5e-5


def test_cli_evaluates_fusion_and_names_each_file_once(shared_data):
    run = subprocess.run([sys.executable, "-m", "spotting.evaluate", "--soccernet-dir", str(shared_data / "soccernet"),
                          "--predictions-dir", str(shared_data / "predictions" / "fusion_2021"), "--split", "test",
                          "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert abs(result["a_mAP"] - 0.3841) < 5e-5 and abs(result["a_mAP_visible"] - 0.4195) < 5e-5
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 100 and sum("before the half's start" in w for w in warnings) == 45
    assert all("fusion_2021" in w and "results_spotting.json" in w for w in warnings)
    assert "Traceback" not in run.stderr


def test_cli_refuses_an_unreadable_position_with_exit_2(tmp_path):
    labels_root, predictions_root = write_game(tmp_path, [prediction("Goal", "-7300000")])
    run = subprocess.run([sys.executable, "-m", "spotting.evaluate", "--soccernet-dir", str(labels_root),
                          "--predictions-dir", str(predictions_root)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "results_spotting.json" in run.stderr and "120 minutes before" in run.stderr
