"""The embedded demo assets behave like a real SoccerNet game, end to end."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from SoccerNet.Evaluation.ActionSpotting import evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from spotting.demo import ASSETS, DEMO_SEED, TEST_SEEDS, TRAIN_SEEDS, VALID_SEEDS, demo_checkpoint, demo_game
from spotting.infer import infer_game, load_checkpoint
from spotting.metrics import average_map
from spotting.postprocess import detect_events
from spotting.results import write_results
from spotting.selection import find_games
from spotting.soccernet import HALVES


def test_demo_game_loads_like_a_soccernet_game() -> None:
    game = demo_game()
    assert [g.name for g in find_games(game.directory.parent, None, game.features, require="both")] == ["game"]
    labels = game.read_labels()  # strict: unknown labels would raise
    assert len(labels) > 100 and len(np.unique(labels.class_index)) >= 15
    assert 0.05 < (~labels.visible).mean() < 0.35  # "not shown" events, as in broadcasts
    for half in HALVES:
        features = game.load_features(half, dim=512)
        assert features.shape[0] > 2 * 60 * 40  # a real-length half at 2 fps
        video = game.video_path(half)
        capture = cv2.VideoCapture(str(video))
        assert capture.isOpened(), video
        seconds = capture.get(cv2.CAP_PROP_FRAME_COUNT) / capture.get(cv2.CAP_PROP_FPS)
        capture.release()
        assert abs(seconds - features.shape[0] / 2) < 1.5


def test_demo_model_spots_the_demo_game_and_soccernet_evaluates_it(tmp_path: Path) -> None:
    game = demo_game()
    loaded = load_checkpoint(demo_checkpoint(), "cpu")
    assert loaded.config.attention and loaded.features == game.features
    predictions = detect_events(infer_game(loaded, {h: game.load_features(h, dim=512) for h in HALVES}))
    labels_root, predictions_root = tmp_path / "labels", tmp_path / "predictions"
    (labels_root / "demo").mkdir(parents=True)
    shutil.copy(game.labels_path, labels_root / "demo" / "Labels-v2.json")
    write_results(predictions_root / "demo" / "results_spotting.json", predictions, "demo")
    official = evaluate(SoccerNet_path=str(labels_root), Predictions_path=str(predictions_root), split=None,
                        dataset=None, EVENT_DICTIONARY=EVENT_DICTIONARY_V2, version=2, metric="loose",
                        prediction_file="results_spotting.json", label_files="Labels-v2.json")
    ours = average_map([game.read_labels()], [predictions], "loose")
    assert ours.a_mAP == pytest.approx(official["a_mAP"], abs=1e-9)
    assert official["a_mAP"] > 0.3  # a trained model, not a random one


def test_demo_model_never_saw_the_demo_game_and_assets_stay_small() -> None:
    for seeds in (TRAIN_SEEDS, VALID_SEEDS, TEST_SEEDS):
        assert DEMO_SEED not in seeds
    size = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert size <= 60 * 2**20, f"demo assets are {size / 2**20:.1f} MiB"


def test_demo_report_says_before_generating_the_held_out_games(tmp_path: Path, monkeypatch, capsys) -> None:
    """``demo report`` generates 50 games (~8 min) on first use: one line says so before it starts, and
    none once they are there (generation and scoring stubbed)."""
    from spotting import demo

    said_first = []
    monkeypatch.setattr(demo, "_games", lambda *a, **k: said_first.append("generating" in capsys.readouterr().err) or [])
    monkeypatch.setattr(demo, "evaluate_checkpoint", lambda *a, **k: {})
    demo.report(tmp_path, {}, write=False)
    assert said_first == [True]
    for seed in TEST_SEEDS:
        (tmp_path / "test" / f"synthetic_{seed}").mkdir(parents=True)
        (tmp_path / "test" / f"synthetic_{seed}" / "Labels-v2.json").write_text("{}")
    demo.report(tmp_path, {}, write=False)
    assert "generating" not in capsys.readouterr().err


def test_demo_help_says_report_generates_the_held_out_games_first(capsys) -> None:
    from spotting.demo import cli

    with pytest.raises(SystemExit):
        cli(["--help"])
    assert f"first use generates the {len(TEST_SEEDS)} held-out games" in " ".join(capsys.readouterr().out.split())
