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

from spotting.analysis import per_game_average_map
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


# ---------------------------------------------------------------- several models, per game, CSV

def add_model(labels_root: Path, root: Path, seed: int, noise_ms: dict[str, int] | None = None) -> Path:
    """Predictions of another model for every game under ``labels_root``: copies of the labels moved
    by up to ``noise_ms[game]`` (default 8 s) plus false alarms."""
    rng = np.random.default_rng(seed)
    for labels_path in sorted(labels_root.rglob("Labels-v2.json")):
        game = labels_path.parent.relative_to(labels_root).as_posix()
        noise = (noise_ms or {}).get(game, 8000)
        predictions = []
        for a in json.loads(labels_path.read_text())["annotations"]:
            ms = max(0, int(a["position"]) + int(rng.integers(-noise, noise + 1)))
            half = int(a["gameTime"][0])
            predictions.append({"gameTime": format_game_time(half, ms), "label": a["label"], "position": str(ms),
                                "half": str(half), "confidence": str(float(rng.random()))})
        (root / game).mkdir(parents=True, exist_ok=True)
        (root / game / "results_spotting.json").write_text(json.dumps({"UrlLocal": game, "predictions": predictions}))
    return root


@pytest.fixture()
def four_games(tmp_path: Path) -> tuple[Path, Path, Path, list[str]]:
    """Four games; model ``first`` finds game D best and game A worst (the reverse of the folder order)."""
    labels_root = tmp_path / "soccernet"
    games = [f"league/2020-2021/game {x}" for x in "ABCD"]
    for i, name in enumerate(games):
        (labels_root / name).mkdir(parents=True)
        (labels_root / name / "Labels-v2.json").write_text(json.dumps(labels_json(20 + i)))
    first = add_model(labels_root, tmp_path / "m1" / "first", 1,
                      {g: noise for g, noise in zip(games, (40000, 20000, 6000, 500))})
    second = add_model(labels_root, tmp_path / "m2" / "second", 2)
    return labels_root, first, second, games


def models_args(labels_root: Path, *dirs: Path) -> list[str]:
    return ["--soccernet-dir", str(labels_root)] + [a for d in dirs for a in ("--predictions-dir", str(d))]


def test_two_models_side_by_side(four_games, capsys):
    labels_root, first, second, games = four_games
    status, out, err = run(models_args(labels_root, first, second), capsys)
    assert status == 0, err
    a, b = evaluate_folder(labels_root, first), evaluate_folder(labels_root, second)
    assert "Average-mAP (loose, tolerance 5..60 s) over 4 game(s), 2 models" in out
    names_line = next(line for line in out.splitlines() if "first" in line)
    assert names_line.split() == ["first", "second"]
    overall = next(line for line in out.splitlines() if line.startswith("all "))
    assert overall.split()[2:] == [f"{100 * r:.2f}" for r in (a.a_mAP, a.a_mAP_visible, a.a_mAP_unshown, b.a_mAP,
                                                              b.a_mAP_visible, b.a_mAP_unshown)] + \
        [f"{100 * (b.a_mAP - a.a_mAP):+.2f}"]
    for c, name in enumerate(CLASSES):
        row = next(line for line in out.splitlines() if line.startswith(f"{name} ")).split()
        assert row[-7] == f"{100 * a.a_mAP_per_class[c]:.2f}" and row[-4] == f"{100 * b.a_mAP_per_class[c]:.2f}"

    status, out, err = run(models_args(labels_root, first, second) + ["--json", "--metric", "tight"], capsys)
    assert status == 0
    result = json.loads(out)
    assert list(result["models"]) == ["first", "second"] and result["num_games"] == 4 and "per_game" not in result
    for name, directory in (("first", first), ("second", second)):
        expected = evaluate_folder(labels_root, directory, metric="tight").to_dict()
        assert {k: result["models"][name][k] for k in expected} == expected
        assert result["models"][name]["predictions_dir"] == str(directory)


def test_models_with_the_same_folder_name_get_a_suffix(four_games, tmp_path, capsys):
    labels_root, first, _, _ = four_games
    twin = add_model(labels_root, tmp_path / "elsewhere" / "first", 3)
    status, out, _ = run(models_args(labels_root, first, twin) + ["--json", "--metric", "at2"], capsys)
    assert status == 0 and list(json.loads(out)["models"]) == ["first", "first-2"]


def per_game_rows_of(out: str) -> list[list[str]]:
    """The per-game table's rows, split on whitespace ("league/2020-2021/game", "X", numbers...)."""
    return [line.split() for line in out.split("Per game", 1)[1].splitlines() if line.startswith("league/")]


def test_per_game_table_is_worst_first(four_games, capsys):
    labels_root, first, second, games = four_games
    status, out, err = run(models_args(labels_root, first, second) + ["--per-game"], capsys)
    assert status == 0, err
    assert "Per game (loose a-mAP, worst first by first)" in out
    rows = per_game_rows_of(out)
    assert [r[1] for r in rows] == ["A", "B", "C", "D"]  # noise 40 s .. 0.5 s: A is the worst
    labels = [read_labels(labels_root / g / "Labels-v2.json") for g in games]
    mine = per_game_average_map(labels, [read_results(first / g / "results_spotting.json") for g in games])
    theirs = per_game_average_map(labels, [read_results(second / g / "results_spotting.json") for g in games])
    for r, g in zip(rows, range(4)):
        # game (2 words), labels, predictions and a-mAP per model, difference
        assert r[2:] == [str(int(mine.num_labels[g].sum())), str(int(mine.num_predictions[g].sum())),
                         f"{100 * mine.a_mAP[g]:.2f}", str(int(theirs.num_predictions[g].sum())),
                         f"{100 * theirs.a_mAP[g]:.2f}", f"{100 * (theirs.a_mAP[g] - mine.a_mAP[g]):+.2f}"]
    assert list(np.argsort(mine.a_mAP)) == [0, 1, 2, 3]

    # Reversed model order: the order follows the first model's a-mAP.
    status, out, _ = run(models_args(labels_root, second, first) + ["--per-game"], capsys)
    expected = [games[g].split()[-1] for g in np.argsort(theirs.a_mAP, kind="stable")]
    assert [r[1] for r in per_game_rows_of(out)] == expected

    # JSON: per_game = {game: {model: a_mAP}}.
    status, out, _ = run(models_args(labels_root, first, second) + ["--per-game", "--json"], capsys)
    per_game = json.loads(out)["per_game"]
    assert per_game == {g: {"first": float(mine.a_mAP[i]), "second": float(theirs.a_mAP[i])}
                        for i, g in enumerate(games)}


def test_single_model_keeps_its_output_and_adds_per_game(dataset, capsys):
    _, plain, _ = run(dirs(dataset) + ["--json"], capsys)
    status, out, _ = run(dirs(dataset) + ["--json", "--per-game"], capsys)
    assert status == 0
    with_games = json.loads(out)
    per_game = with_games.pop("per_game")
    assert with_games == json.loads(plain)
    assert list(per_game) == list(GAMES) and all(list(v) == ["predictions"] for v in per_game.values())
    _, table, _ = run(dirs(dataset), capsys)
    _, table_with_games, _ = run(dirs(dataset) + ["--per-game"], capsys)
    assert table_with_games.startswith(table.rstrip("\n") + "\n\nPer game (loose a-mAP, worst first by predictions)")
    assert "Δ" not in table_with_games


def test_csv_rows_and_refusal_to_overwrite(four_games, tmp_path, capsys):
    import csv

    labels_root, first, second, games = four_games
    target = tmp_path / "per_game.csv"
    both = models_args(labels_root, first, second)
    status, out, err = run(both + ["--csv", str(target), "--metric", "tight"], capsys)
    assert status == 0 and "4 game(s), 2 models" in out and str(target) in err
    with open(target, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["game", "model", "metric", "a_mAP", "num_labels", "num_predictions"]
    assert [(r["game"], r["model"]) for r in rows] == [(g, m) for g in games for m in ("first", "second")]
    status, out, _ = run(both + ["--per-game", "--json", "--metric", "tight"], capsys)
    per_game = json.loads(out)["per_game"]
    for r in rows:
        assert r["metric"] == "tight" and float(r["a_mAP"]) == per_game[r["game"]][r["model"]]
        assert int(r["num_labels"]) == 40 and int(r["num_predictions"]) > 0

    before = target.read_text()
    status, out, err = run(models_args(labels_root, first) + ["--csv", str(target)], capsys)
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert str(target) in err and "--force" in err and target.read_text() == before
    status, out, err = run(models_args(labels_root, first) + ["--csv", str(target), "--force"], capsys)
    assert status == 0 and len(target.read_text().splitlines()) == 1 + 4


def test_bad_second_model_exits_2_naming_the_file(four_games, tmp_path, capsys):
    labels_root, first, second, games = four_games
    status, out, err = run(models_args(labels_root, first, tmp_path / "nope"), capsys)
    assert status == 2 and out == "" and str(tmp_path / "nope") in err and len(err.strip().splitlines()) == 1
    corrupt = second / games[2] / "results_spotting.json"
    corrupt.write_text('{"predictions": [')
    status, out, err = run(models_args(labels_root, first, second) + ["--per-game"], capsys)
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert str(corrupt) in err and "malformed JSON" in err
    corrupt.unlink()
    status, out, err = run(models_args(labels_root, first, second), capsys)
    assert status == 2 and str(corrupt) in err and "--missing-as-empty" in err
    status, out, err = run(models_args(labels_root, first, second) + ["--missing-as-empty", "--json"], capsys)
    assert status == 0 and "note: second: 1 game(s) have no results_spotting.json" in err
    assert json.loads(out)["models"]["second"]["games_without_predictions"] == [games[2]]
