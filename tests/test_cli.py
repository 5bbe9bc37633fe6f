"""Command lines end to end: results accepted by SoccerNet's evaluate(); bad input → exit 2, one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from SoccerNet.Evaluation.ActionSpotting import evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from planted import planted_game
from spotting.checkpoint import save_checkpoint
from spotting.metrics import average_map
from spotting.model import CALF, ModelConfig
from spotting.results import read_results
from spotting.soccernet import read_labels
from spotting.synth.game import labels_dict

ROOT = Path(__file__).resolve().parents[1]
SMALL = ModelConfig(feature_dim=32, chunk_seconds=60, receptive_field_seconds=20)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    game = root / "data" / "league" / "2020-2021" / "game one"
    game.mkdir(parents=True)
    features, labels = planted_game(np.random.default_rng(0), num_frames=900)
    for half in (1, 2):
        np.save(game / f"{half}_planted.npy", features[half])
    (game / "Labels-v2.json").write_text(json.dumps(labels_dict(labels, "home", "away")))
    checkpoint = save_checkpoint(root / "model.pt", CALF(SMALL), "planted.npy")
    return {"root": root, "data": root / "data", "game": game, "checkpoint": checkpoint}


def test_infer_writes_results_that_soccernet_evaluates(setup) -> None:
    out = setup["root"] / "preds" / "league" / "2020-2021" / "game one" / "results_spotting.json"
    result = run("spotting.infer", "--game-dir", str(setup["game"]), "--checkpoint", str(setup["checkpoint"]),
                 "--out", str(out), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    predictions = read_results(out)
    assert len(predictions) > 0 and json.loads(out.read_text())["UrlLocal"] == "game one"
    official = evaluate(SoccerNet_path=str(setup["data"]), Predictions_path=str(setup["root"] / "preds"),
                        split=None, dataset=None, EVENT_DICTIONARY=EVENT_DICTIONARY_V2, version=2,
                        prediction_file="results_spotting.json", label_files="Labels-v2.json", metric="loose")
    ours = average_map([read_labels(setup["game"] / "Labels-v2.json")], [predictions], "loose")
    assert ours.a_mAP == pytest.approx(official["a_mAP"], abs=1e-9)


def test_infer_refuses_to_overwrite_without_force(setup) -> None:
    out = setup["root"] / "mine.json"
    out.write_text("precious")
    args = ("spotting.infer", "--game-dir", str(setup["game"]), "--checkpoint", str(setup["checkpoint"]), "--out", str(out))
    refused = run(*args)
    assert refused.returncode == 2 and "already exists" in refused.stderr and "--force" in refused.stderr
    assert out.read_text() == "precious"
    assert run(*args, "--force").returncode == 0 and out.read_text() != "precious"


@pytest.mark.parametrize("breakage,needle", [
    ("missing", "features file not found"),
    ("truncated", "truncated or corrupt"),
    ("nan", "NaN or Inf"),
    ("wrong_dim", "dimension 16, the model expects 32"),
])
def test_infer_bad_features_exit_2_with_one_line(setup, tmp_path: Path, breakage: str, needle: str) -> None:
    game = tmp_path / "game"
    game.mkdir()
    good = np.load(setup["game"] / "1_planted.npy")
    np.save(game / "2_planted.npy", good)
    if breakage == "truncated":
        np.save(game / "1_planted.npy", good)
        (game / "1_planted.npy").write_bytes((game / "1_planted.npy").read_bytes()[:1000])
    elif breakage == "nan":
        bad = good.copy()
        bad[10, 3] = np.nan
        np.save(game / "1_planted.npy", bad)
    elif breakage == "wrong_dim":
        np.save(game / "1_planted.npy", good[:, :16])
    result = run("spotting.infer", "--game-dir", str(game), "--checkpoint", str(setup["checkpoint"]))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "1_planted.npy" in lines[0] and "Traceback" not in result.stderr
    assert not (game / "results_spotting.json").exists()


def test_infer_bad_checkpoint_exit_2(setup, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_text("nope")
    result = run("spotting.infer", "--game-dir", str(setup["game"]), "--checkpoint", str(bad))
    assert result.returncode == 2 and "bad.pt" in result.stderr and "Traceback" not in result.stderr


def test_infer_split_no_game_of_exits_2(setup, tmp_path: Path) -> None:
    result = run("spotting.infer", "--soccernet-dir", str(setup["data"]), "--split", "test", "--checkpoint",
                 str(setup["checkpoint"]), "--out-dir", str(tmp_path / "out"))
    assert result.returncode == 2 and "no game of split 'test'" in result.stderr  # not a SoccerNet test game


def test_train_refuses_an_out_with_checkpoints(setup, tmp_path: Path) -> None:
    (tmp_path / "best.pt").write_text("earlier run")
    result = run("spotting.train", "--soccernet-dir", str(setup["data"]), "--features", "planted.npy",
                 "--train-split", "all", "--valid-split", "", "--out", str(tmp_path))
    assert result.returncode == 2 and "--resume" in result.stderr and (tmp_path / "best.pt").read_text() == "earlier run"


def test_train_cli_runs_an_epoch(setup, tmp_path: Path) -> None:
    result = run("spotting.train", "--soccernet-dir", str(setup["data"]), "--features", "planted.npy",
                 "--train-split", "all", "--valid-split", "all", "--out", str(tmp_path / "run"), "--epochs", "1",
                 "--chunks-per-epoch", "64", "--device", "cpu", "--no-attention")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "best.pt").is_file() and "parameters" in result.stdout


@pytest.mark.parametrize("content", ["corrupt", "foreign", "no-state"])
def test_train_resume_refuses_a_bad_last_checkpoint_with_exit_2(setup, tmp_path: Path, content: str) -> None:
    """--resume reads last.pt through the checkpoint loader and its checks (it used torch.load directly:
    a corrupt or foreign file was a traceback and exit 1)."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "best.pt").write_text("earlier run")
    last = out / "last.pt"
    if content == "corrupt":
        last.write_bytes(b"PK\x03\x04 not really a zip")
    elif content == "foreign":
        torch.save({"state_dict": {}}, last)
    else:  # a model checkpoint without the training state (e.g. best.pt copied over)
        save_checkpoint(last, CALF(SMALL), "planted.npy")
    result = run("spotting.train", "--soccernet-dir", str(setup["data"]), "--features", "planted.npy",
                 "--train-split", "all", "--valid-split", "all", "--out", str(out), "--epochs", "1",
                 "--chunks-per-epoch", "16", "--device", "cpu", "--no-attention", "--resume")
    assert result.returncode == 2, result.stderr
    assert "last.pt" in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 2


def test_infer_game_dir_without_out_writes_under_predictions_not_into_the_dataset(setup, tmp_path: Path) -> None:
    """#14: the default is predictions/<checkpoint name>/<league>/<season>/<game>/results_spotting.json under the
    current folder (where the app finds saved predictions); the dataset's folder is left alone."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "spotting.infer", "--game-dir", str(setup["game"]), "--checkpoint",
                             str(setup["checkpoint"]), "--device", "cpu"], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    expected = tmp_path / "predictions" / "model" / "league" / "2020-2021" / "game one" / "results_spotting.json"
    assert expected.is_file() and len(read_results(expected)) > 0
    assert not (setup["game"] / "results_spotting.json").exists()


def test_a_runs_best_pt_is_named_after_its_run_not_best(tmp_path: Path, monkeypatch) -> None:
    """Every training run writes best.pt / last.pt: their outputs go to predictions/<run>/, so two runs'
    predictions do not collide in predictions/best/; any other checkpoint name is kept."""
    from spotting.infer import default_game_output

    game = tmp_path / "league" / "2020-2021" / "game one"
    tail = Path("league", "2020-2021", "game one", "results_spotting.json")
    assert default_game_output(Path("runs/x/best.pt"), game) == Path("predictions", "x") / tail
    assert default_game_output(Path("runs/y/last.pt"), game) == Path("predictions", "y") / tail
    assert default_game_output(Path("runs/x/calibrated.pt"), game) == Path("predictions", "calibrated") / tail
    (tmp_path / "runs" / "z").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "runs" / "z")  # best.pt given from inside its run folder
    assert default_game_output(Path("best.pt"), game) == Path("predictions", "z") / tail


def test_the_default_predictions_folder_is_ignored_by_git() -> None:
    assert "/predictions/" in (ROOT / ".gitignore").read_text().splitlines()
