"""The task specifications travel with models: checkpoints, K per class, post-processing, synthetic Ball games."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from spotting.checkpoint import load_checkpoint, save_checkpoint
from spotting.encoding import DEFAULT_K_SECONDS, K_SECONDS, k_frames, k_seconds
from spotting.model import CALF, ModelConfig
from spotting.postprocess import Refinement, SpottingConfig, apply_thresholds, nms_events, per_class_values
from spotting.soccernet import Annotations
from spotting.specs import BALL_2023, BALL_2024, SOCCERNET_V2
from spotting.synth.ball import BALL_FPS, generate_ball_game

ROOT = Path(__file__).resolve().parents[1]


def test_old_checkpoint_loads_as_soccernet_v2_and_new_ones_keep_their_classes(tmp_path):
    demo = ROOT / "assets" / "demo" / "model.pt"
    if demo.is_file():  # saved before specifications existed
        loaded = load_checkpoint(demo, "cpu")
        assert loaded.config.specifications is None and loaded.spec == SOCCERNET_V2 and loaded.framerate == 2.0
    payload_like_old = ModelConfig(feature_dim=8).to_dict()
    payload_like_old.pop("specifications")
    assert ModelConfig(**payload_like_old).spec == SOCCERNET_V2
    config = ModelConfig(feature_dim=8, framerate=25.0, chunk_seconds=8.0, receptive_field_seconds=2.0,
                         specifications=BALL_2024)
    assert config.num_classes == 12
    path = save_checkpoint(tmp_path / "ball.pt", CALF(config), "ball64.npy", epoch=0)
    loaded = load_checkpoint(path, "cpu")
    assert loaded.spec == BALL_2024 and loaded.framerate == 25.0 and loaded.config.num_classes == 12
    assert torch.load(path, weights_only=True)["config"]["specifications"]["classes"][11] == "GOAL"


def test_k_per_class_and_post_processing_of_any_width():
    assert np.array_equal(k_seconds(SOCCERNET_V2.classes), K_SECONDS)
    assert np.array_equal(k_seconds(["Goal", "PASS"]), np.stack([K_SECONDS[:, 2], DEFAULT_K_SECONDS], axis=1))
    assert k_frames(25.0, BALL_2023.classes).shape == (4, 2)
    # A calibrated refinement of a 2-class checkpoint is kept; a uniform one serves any width.
    info = {"refinement": Refinement((1.0, 0.0), (0.5, 0.0)).to_dict()}
    assert Refinement.from_checkpoint_info(info, num_classes=2).window_s == (1.0, 0.0)
    assert Refinement.from_checkpoint_info(info).window_s == Refinement().window_s  # read as a 17-class one
    window, offset = Refinement.uniform(3.0, 0.2).arrays(20)
    assert window.shape == (20,) and (window == 3.0).all() and (offset == 0.2).all()
    # 20 classes: thresholds and NMS windows are sized by the events, not by 17.
    n = 40
    events = Annotations.from_lists(np.ones(n), np.arange(n) * 100, np.arange(n) % 20, np.ones(n, bool), [""] * n,
                                    np.linspace(0, 1, n))
    assert len(apply_thresholds(events, 0.5, {19: 0.0})) == int((events.confidence >= 0.5).sum()) + 1
    assert len(nms_events(events, SpottingConfig(nms_window_s=1.0), framerate=25.0)) == n
    assert per_class_values(1.0, {25: 2.0}).shape == (26,)


def test_synthetic_ball_game(tmp_path):
    game = generate_ball_game(tmp_path / "game", seed=3, half_seconds=(60.0, 50.0), spec=BALL_2024)
    assert game.labels_file == "Labels-ball.json" and game.has_labels and game.has_features()
    labels = game.read_labels(classes=BALL_2024)
    features = {h: game.load_features(h) for h in (1, 2)}
    assert features[1].shape == (int(60 * BALL_FPS), 64) and features[2].shape == (int(50 * BALL_FPS), 64)
    assert (labels.position_ms % 40 == 0).all()  # on the 25-fps grid
    gaps = np.diff(labels.for_half(1).position_ms) / 1000
    assert gaps.min() >= 1.0 and gaps.max() <= 3.5 and len(labels) > 30
    counts = np.bincount(labels.class_index, minlength=12)
    assert counts[:2].sum() > counts[2:].sum()  # passes and drives dominate
    data = json.loads(game.labels_path.read_text())
    assert {a["label"] for a in data["annotations"]} <= set(BALL_2024.classes)
    again = generate_ball_game(tmp_path / "again", seed=3, half_seconds=(60.0, 50.0), spec=BALL_2024)
    assert np.array_equal(np.load(again.features_path(1)), np.asarray(features[1]))


def test_synth_cli_writes_ball_games(tmp_path, capsys):
    from spotting.synth.__main__ import main

    assert main(["--out", str(tmp_path / "b"), "--ball", "2023", "--minutes", "0.5", "--no-video", "--games", "2"]) == 0
    for seed in (0, 1):
        game = tmp_path / "b" / f"ball_{seed}"
        assert (game / "Labels-ball.json").is_file() and np.load(game / "1_ball64.npy").shape == (750, 64)
    assert "Ball Action Spotting 2023" in capsys.readouterr().out
