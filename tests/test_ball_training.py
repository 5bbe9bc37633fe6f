"""A small CALF learns Ball Action Spotting end to end: synthetic 25-fps games → train (class set recognised
from Labels-ball.json, stored in the checkpoint) → infer (PASS / DRIVE written) → evaluate (mAP@1 at 25 fps)."""

from __future__ import annotations

import json

import pytest

from spotting.checkpoint import load_checkpoint
from spotting.cli import run_cli
from spotting.evaluate import evaluate_folder
from spotting.specs import BALL_2023
from spotting.synth.ball import generate_ball_game


@pytest.mark.slow
def test_a_small_model_learns_ball_actions(tmp_path, capsys):
    from spotting import evaluate, infer, train

    root = tmp_path / "ball"
    for i in range(4):
        generate_ball_game(root / "train" / f"game{i}", 100 + i, (90.0, 90.0))
    generate_ball_game(root / "valid" / "game0", 200, (60.0, 60.0))
    held_out = generate_ball_game(root / "test" / "game0", 300, (60.0, 60.0))
    run = tmp_path / "run"
    status = run_cli(train.main, ["--soccernet-dir", str(root), "--features", "ball64.npy", "--train-split", "train",
                                  "--valid-split", "valid", "--out", str(run), "--chunk-seconds", "8",
                                  "--receptive-field-seconds", "2", "--no-attention", "--epochs", "6",
                                  "--chunks-per-epoch", "256", "--batch-size", "16", "--valid-every", "2",
                                  "--segmentation-weight", "0.005", "--workers", "0", "--device", "cpu"])
    assert status == 0, capsys.readouterr().err
    assert "Ball Action Spotting 2023" in capsys.readouterr().err
    loaded = load_checkpoint(run / "best.pt", "cpu")
    assert loaded.spec == BALL_2023 and loaded.framerate == 25.0 and loaded.config.num_classes == 2

    out = tmp_path / "predictions" / "game0" / "results_spotting.json"
    assert run_cli(infer.main, ["--game-dir", str(held_out.directory), "--checkpoint", str(run / "best.pt"),
                                "--out", str(out), "--device", "cpu"]) == 0
    predictions = json.loads(out.read_text())["predictions"]
    assert predictions and {p["label"] for p in predictions} == {"PASS", "DRIVE"}
    assert all(int(p["position"]) % 40 == 0 for p in predictions)  # on the 25-fps grid

    result = evaluate_folder(root / "test", tmp_path / "predictions")
    assert result.metric == "at1" and result.framerate == 25.0
    assert result.a_mAP > 0.4, result.a_mAP  # an untrained model: 0.14; six short epochs reached ~0.6
    assert run_cli(evaluate.main, ["--soccernet-dir", str(root / "test"), "--predictions-dir",
                                   str(tmp_path / "predictions")]) == 0
    assert "PASS" in capsys.readouterr().out
