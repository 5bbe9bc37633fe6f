"""Per-class refinement calibrated on validation games: known answers, stored with the model, used by the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from planted import planted_game
from spotting.calibration import calibrate_refinement
from spotting.checkpoint import load_checkpoint, save_checkpoint
from spotting.infer import GameScores, HalfScores
from spotting.model import CALF, ModelConfig
from spotting.postprocess import Refinement, detect_events
from spotting.soccernet import Annotations
from spotting.synth.game import labels_dict

ROOT = Path(__file__).resolve().parents[1]
GOAL, THROW_IN, FOUL = 2, 9, 10


def _game(rng: np.random.Generator) -> tuple[GameScores, Annotations]:
    """Goal curves rise 6 s before the goal; throw-in curves at the throw-in; foul curves anywhere
    within ±12 s. The spotting head is up to 8 s off for goals and throw-ins, exact for fouls."""
    halves, half_ids, positions, classes = {}, [], [], []
    for half in (1, 2):
        segmentation = np.zeros((2400, 17), np.float32)
        detection = np.zeros((2400, 17), np.float32)
        for i, frame in enumerate(range(100, 2300, 110)):
            cls = (GOAL, THROW_IN, FOUL)[i % 3]
            rise = {GOAL: frame - 12, THROW_IN: frame, FOUL: frame + int(rng.integers(-24, 25))}[cls]
            segmentation[rise: rise + 30, cls] = 0.9
            head = frame if cls == FOUL else frame + int(rng.integers(-16, 17))
            detection[head, cls] = float(rng.uniform(0.3, 1.0))
            half_ids.append(half)
            positions.append(frame * 500)
            classes.append(cls)
        halves[half] = HalfScores(segmentation, detection, 2.0)
    n = len(half_ids)
    labels = Annotations.from_lists(half_ids, positions, classes, [True] * n, [""] * n, [1.0] * n)
    return GameScores(halves, "cpu", 0.0), labels


def test_calibration_finds_each_class_offset_and_turns_refinement_off_where_it_misleads() -> None:
    rng = np.random.default_rng(0)
    games = [_game(rng) for _ in range(3)]
    refinement, report = calibrate_refinement([g[0] for g in games], [g[1] for g in games])
    assert refinement.window_s[GOAL] > 0 and abs(refinement.offset_s[GOAL] - 6.0) <= 0.5
    assert refinement.window_s[THROW_IN] > 0 and refinement.offset_s[THROW_IN] in (0.0, 0.5)
    assert refinement.window_s[FOUL] == 0.0  # the head's positions are better than a wandering curve
    # tight Average-mAP over 17 classes, 3 with events: perfect once calibrated, far from it before
    assert report["calibrated"][1] == pytest.approx(3 / 17) and report["default"][1] < 2 / 17
    assert report["calibrated"][0] >= report["default"][0]
    # classes without events keep the uniform default (ties go to it)
    assert refinement.window_s[0] == Refinement().window_s[0] and refinement.offset_s[0] == Refinement().offset_s[0]
    # the calibrated refinement puts every event on its label
    events = detect_events(games[0][0], refinement=refinement)
    placed = np.sort(events.position_ms) - np.sort(games[0][1].position_ms)
    assert len(events) == len(games[0][1]) and np.abs(placed).max() <= 500  # within a frame


def test_refinement_round_trips_through_checkpoint_info_and_bad_info_falls_back() -> None:
    refinement = Refinement(tuple(float(i % 2) * 15 for i in range(17)), tuple(0.5 * i for i in range(17)))
    assert Refinement.from_checkpoint_info({"refinement": refinement.to_dict()}) == refinement
    assert Refinement.from_checkpoint_info({}) == Refinement()
    assert Refinement.from_checkpoint_info({"refinement": {"window_s": [1.0], "offset_s": [0.0]}}) == Refinement()


@pytest.fixture(scope="module")
def soccernet(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("calibration")
    for g in range(2):
        game = root / "data" / "valid" / f"game {g}"
        game.mkdir(parents=True)
        features, labels = planted_game(np.random.default_rng(g), num_frames=900)
        for half in (1, 2):
            np.save(game / f"{half}_planted.npy", features[half])
        (game / "Labels-v2.json").write_text(json.dumps(labels_dict(labels, "home", "away")))
    torch.manual_seed(0)
    config = ModelConfig(feature_dim=32, chunk_seconds=60, receptive_field_seconds=20)
    checkpoint = save_checkpoint(root / "model.pt", CALF(config), "planted.npy", epoch=3)
    return {"root": root, "data": root / "data", "checkpoint": checkpoint}


def test_calibration_cli_stores_the_refinement_and_never_overwrites_without_force(soccernet) -> None:
    base = [sys.executable, "-m", "spotting.calibration", "--checkpoint", str(soccernet["checkpoint"]),
            "--soccernet-dir", str(soccernet["data"]), "--valid-split", "valid"]
    refused = subprocess.run(base, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert refused.returncode == 2 and "--force" in refused.stderr and "Traceback" not in refused.stderr
    out = soccernet["root"] / "calibrated.pt"
    done = subprocess.run(base + ["--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = load_checkpoint(out, "cpu")
    assert loaded.info["epoch"] == 3 and loaded.info["calibration"]["games"] == 2  # earlier info kept
    assert Refinement.from_checkpoint_info(loaded.info).to_dict() == loaded.info["refinement"]
    assert "refinement" not in load_checkpoint(soccernet["checkpoint"], "cpu").info  # the original is untouched
