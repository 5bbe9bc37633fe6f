"""``python -m spotting.evaluate``: table / JSON output, official equality, bad input -> exit 2."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from spotting.cli import run_cli
from spotting.evaluate import evaluate_folder, main
from spotting.metrics import average_map
from spotting.results import read_results
from spotting.soccernet import CLASSES, Annotations, format_game_time, read_labels

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
GAMES = ("league/2020-2021/game A", "league/2020-2021/game B")


def labels_json(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    annotations = []
    for _ in range(40):
        half, ms, c = int(rng.integers(1, 3)), int(rng.integers(0, 2_700_000)), int(rng.integers(0, 17))
        annotations.append({"gameTime": format_game_time(half, ms), "label": CLASSES[c], "position": str(ms),
                            "team": "home", "visibility": "not shown" if rng.random() < 0.2 else "visible"})
    return {"UrlLocal": "", "annotations": annotations}


def predictions_json(labels: dict, seed: int, numeric: bool) -> dict:
    """Noisy copies of the labels plus random false alarms, string-valued like the official files or numeric."""
    rng = np.random.default_rng(seed)
    rows = []
    for a in labels["annotations"]:
        rows.append((int(a["gameTime"][0]), max(0, int(a["position"]) + int(rng.integers(-8000, 8000))), a["label"]))
    for _ in range(30):
        rows.append((int(rng.integers(1, 3)), int(rng.integers(0, 2_700_000)), CLASSES[int(rng.integers(0, 17))]))
    predictions = []
    for half, ms, label in rows:
        conf = float(rng.random())
        predictions.append({"gameTime": format_game_time(half, ms), "label": label,
                            "position": ms if numeric else str(ms), "half": half if numeric else str(half),
                            "confidence": conf if numeric else str(conf)})
    return {"UrlLocal": "", "predictions": predictions}


@pytest.fixture()
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    """Two games; game A has string-valued predictions, game B numeric ones."""
    labels_root, predictions_root = tmp_path / "soccernet", tmp_path / "predictions"
    for i, name in enumerate(GAMES):
        labels = labels_json(i)
        (labels_root / name).mkdir(parents=True)
        (labels_root / name / "Labels-v2.json").write_text(json.dumps(labels))
        (predictions_root / name).mkdir(parents=True)
        (predictions_root / name / "results_spotting.json").write_text(
            json.dumps(predictions_json(labels, 10 + i, numeric=i == 1)))
    return labels_root, predictions_root


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = run_cli(main, argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def dirs(dataset: tuple[Path, Path]) -> list[str]:
    return ["--soccernet-dir", str(dataset[0]), "--predictions-dir", str(dataset[1])]


def test_json_equals_official_evaluate(dataset, capsys):
    for metric in ("tight", "at2"):
        status, out, err = run(dirs(dataset) + ["--metric", metric, "--json"], capsys)
        assert status == 0, err
        ours = json.loads(out)
        with contextlib.redirect_stderr(io.StringIO()):
            official = official_evaluate(str(dataset[0]), str(dataset[1]), metric=metric, version=2, dataset=None,
                                         EVENT_DICTIONARY=EVENT_DICTIONARY_V2)
        for key, value in official.items():
            np.testing.assert_allclose(ours[key], np.asarray(value, dtype=float), rtol=0, atol=1e-9, err_msg=key)
        assert ours["metric"] == metric and ours["num_games"] == 2 and ours["classes"] == list(CLASSES)
        assert ours["a_mAP"] > 0.05  # the noisy copies do find events


def test_table_lists_overall_and_every_class(dataset, capsys):
    status, out, _ = run(dirs(dataset), capsys)
    assert status == 0
    result = evaluate_folder(*dataset, metric="loose")
    assert "Average-mAP (loose, tolerance 5..60 s) over 2 game(s)" in out
    overall = next(line for line in out.splitlines() if line.startswith("all "))
    assert overall.split()[1:4] == [f"{100 * result.a_mAP:.2f}", f"{100 * result.a_mAP_visible:.2f}",
                                    f"{100 * result.a_mAP_unshown:.2f}"]
    for c, name in enumerate(CLASSES):
        row = next(line for line in out.splitlines() if line.startswith(f"{name} "))
        assert f"{100 * result.a_mAP_per_class[c]:.2f}" in row


def test_string_and_numeric_files_give_the_same_figures(dataset, capsys):
    labels_root, predictions_root = dataset
    before = evaluate_folder(labels_root, predictions_root, metric="tight").to_dict()
    for name in GAMES:  # flip each file between string values and numbers
        path = predictions_root / name / "results_spotting.json"
        data = json.loads(path.read_text())
        for p in data["predictions"]:
            numeric = isinstance(p["half"], int)
            for key in ("position", "half"):
                p[key] = str(p[key]) if numeric else int(p[key])
            p["confidence"] = repr(p["confidence"]) if numeric else float(p["confidence"])
        path.write_text(json.dumps(data))
    assert evaluate_folder(labels_root, predictions_root, metric="tight").to_dict() == before


def test_missing_prediction_file_is_an_error_naming_it(dataset, capsys):
    missing = dataset[1] / GAMES[1] / "results_spotting.json"
    missing.unlink()
    status, out, err = run(dirs(dataset), capsys)
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert str(missing) in err and "--missing-as-empty" in err

    status, out, err = run(dirs(dataset) + ["--missing-as-empty", "--json", "--metric", "tight"], capsys)
    assert status == 0 and "1 game(s) have no results_spotting.json" in err
    ours = json.loads(out)
    labels = [read_labels(dataset[0] / g / "Labels-v2.json") for g in GAMES]
    predictions = [read_results(dataset[1] / GAMES[0] / "results_spotting.json"), Annotations.empty()]
    assert ours["a_mAP"] == average_map(labels, predictions, metric="tight").a_mAP
    assert ours["games_without_predictions"] == [GAMES[1]]


def test_other_prediction_file_name(dataset, capsys):
    for name in GAMES:
        (dataset[1] / name / "results_spotting.json").rename(dataset[1] / name / "mine.json")
    status, out, err = run(dirs(dataset) + ["--prediction-file", "mine.json", "--metric", "at1"], capsys)
    assert status == 0 and "Average-mAP (at1, tolerance 1 s)" in out


@pytest.mark.parametrize("which", ["predictions", "labels"])
def test_malformed_json_is_an_error_naming_the_file(dataset, capsys, which):
    path = (dataset[1] / GAMES[0] / "results_spotting.json" if which == "predictions"
            else dataset[0] / GAMES[0] / "Labels-v2.json")
    path.write_text('{"predictions": [ {"label": "Goal", ')
    status, out, err = run(dirs(dataset), capsys)
    assert status == 2 and out == ""
    assert str(path) in err and "malformed JSON" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("which", ["predictions", "labels"])
def test_unknown_label_is_an_error_unless_skipped(dataset, capsys, which):
    path = (dataset[1] / GAMES[1] / "results_spotting.json" if which == "predictions"
            else dataset[0] / GAMES[1] / "Labels-v2.json")
    data = json.loads(path.read_text())
    data["predictions" if which == "predictions" else "annotations"][3]["label"] = "Bicycle kick"
    path.write_text(json.dumps(data))
    status, out, err = run(dirs(dataset), capsys)
    assert status == 2 and str(path) in err and "'Bicycle kick'" in err and len(err.strip().splitlines()) == 1

    # --skip-unknown drops it, as the official evaluator does.
    status, out, err = run(dirs(dataset) + ["--skip-unknown", "--json", "--metric", "at3"], capsys)
    assert status == 0
    with contextlib.redirect_stderr(io.StringIO()):
        official = official_evaluate(str(dataset[0]), str(dataset[1]), metric="at3", version=2, dataset=None,
                                     EVENT_DICTIONARY=EVENT_DICTIONARY_V2)
    assert abs(json.loads(out)["a_mAP"] - official["a_mAP"]) <= 1e-9


def test_missing_folders_and_no_games(tmp_path, dataset, capsys):
    status, _, err = run(["--soccernet-dir", str(dataset[0]), "--predictions-dir", str(tmp_path / "nope")], capsys)
    assert status == 2 and str(tmp_path / "nope") in err
    (tmp_path / "empty").mkdir()
    status, _, err = run(["--soccernet-dir", str(tmp_path / "empty"), "--predictions-dir", str(dataset[1])], capsys)
    assert status == 2 and "no game folder with a Labels-v2.json" in err
    status, _, err = run(dirs(dataset) + ["--split", "test"], capsys)  # none of the official test games here
    assert status == 2 and "'test' split" in err


def test_module_runs_as_a_script_with_exit_status_2_and_no_traceback(dataset):
    (dataset[1] / GAMES[0] / "results_spotting.json").unlink()
    proc = subprocess.run([sys.executable, "-m", "spotting.evaluate"] + dirs(dataset), cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and GAMES[0] in proc.stderr


@pytest.mark.slow
def test_real_test_split_through_the_module():
    if not (DATA / "predictions" / "netvlad_v2").is_dir():
        pytest.skip(f"real SoccerNet material not found at {DATA}")
    proc = subprocess.run([sys.executable, "-m", "spotting.evaluate", "--soccernet-dir", str(DATA / "soccernet"),
                           "--predictions-dir", str(DATA / "predictions" / "netvlad_v2"), "--split", "test",
                           "--metric", "tight", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    # Official SoccerNet 0.2.0 evaluate() on this material (tests/test_metrics.py checks every figure).
    assert abs(result["a_mAP"] - 0.0412414810468075) <= 1e-9
    assert result["num_games"] == 100 and result["split_games_not_found"] == []
