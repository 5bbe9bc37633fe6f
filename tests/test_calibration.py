"""Per-class refinement calibrated on validation games: known answers, stored with the model, used by the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from planted import planted_game
from spotting.calibration import calibrate_checkpoint, calibrate_refinement, calibrate_suppression
from spotting.checkpoint import load_checkpoint, save_checkpoint
from spotting.infer import GameScores, HalfScores
from spotting.model import CALF, ModelConfig
from spotting.postprocess import SUPPRESSIONS, Refinement, SpottingConfig, detect_events
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
    events = detect_events(games[0][0], SpottingConfig(refinement=refinement))
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


def _suppression_game(rng: np.random.Generator) -> tuple[GameScores, Annotations]:
    """Throw-ins every 8 s, each spotted exactly; goals spotted exactly, each followed 12 s later by a
    spurious detection almost as confident. No segmentation rise: refinement keeps the head's positions."""
    halves, half_ids, positions, classes = {}, [], [], []
    for half in (1, 2):
        detection = np.zeros((2400, 17), np.float32)
        for frame in range(100, 1100, 16):
            detection[frame, THROW_IN] = float(rng.uniform(0.3, 1.0))
            half_ids.append(half), positions.append(frame * 500), classes.append(THROW_IN)
        for frame in range(1200, 2300, 100):
            confidence = float(rng.uniform(0.3, 1.0))
            detection[frame, GOAL] = confidence
            detection[frame + 24, GOAL] = 0.95 * confidence
            half_ids.append(half), positions.append(frame * 500), classes.append(GOAL)
        halves[half] = HalfScores(np.zeros((2400, 17), np.float32), detection, 2.0)
    n = len(half_ids)
    labels = Annotations.from_lists(half_ids, positions, classes, [True] * n, [""] * n, [1.0] * n)
    return GameScores(halves, "cpu", 0.0), labels


def test_suppression_calibration_finds_each_class_window() -> None:
    """A 20-s window halves the throw-ins and keeps the goals' echoes: the calibrated windows fix both,
    and every other class keeps the default."""
    rng = np.random.default_rng(0)
    games = [_suppression_game(rng) for _ in range(3)]
    scores, labels = [g[0] for g in games], [g[1] for g in games]
    settings, report = calibrate_suppression(scores, labels, kinds=("hard",))
    windows = settings.nms_windows(17)
    assert windows[THROW_IN] < 16.0  # radius under the 8 s between throw-ins
    assert windows[GOAL] >= 30.0  # radius over the 12 s to the echo
    assert all(windows[c] == 20.0 for c in range(17) if c not in (THROW_IN, GOAL))
    assert report["calibrated"][0] > report["default"][0] and report["calibrated"][1] > report["default"][1]
    events = detect_events(scores[0], settings)
    assert len(events) == len(labels[0])  # every throw-in, every goal, no echo
    assert sorted(events.position_ms.tolist()) == sorted(labels[0].position_ms.tolist())


def test_suppression_kind_is_the_one_whose_classes_score_highest() -> None:
    rng = np.random.default_rng(1)
    games = [_suppression_game(rng) for _ in range(2)]
    scores, labels = [g[0] for g in games], [g[1] for g in games]
    alone = {kind: calibrate_suppression(scores, labels, kinds=(kind,)) for kind in SUPPRESSIONS}
    settings, report = calibrate_suppression(scores, labels)
    totals = {kind: sum(r["calibrated"]) for kind, (_, r) in alone.items()}
    best = max(SUPPRESSIONS, key=lambda k: (totals[k], -SUPPRESSIONS.index(k)))  # ties: the earlier kind
    assert settings == alone[best][0] and report["calibrated"] == alone[best][1]["calibrated"]


def test_calibrate_keeps_or_beats_the_defaults_and_stores_one_settings_object(soccernet, tmp_path: Path) -> None:
    """calibrate_checkpoint saves the whole SpottingConfig; inference reads it back whole, and a
    command-line window replaces every class's window."""
    from spotting.infer import postprocessing
    from spotting.selection import find_games

    games = find_games(soccernet["data"], None, "planted.npy")
    out = tmp_path / "calibrated.pt"
    settings, report = calibrate_checkpoint(soccernet["checkpoint"], games, out, device="cpu")
    assert sum(report["calibrated"]) >= sum(report["default"])
    loaded = load_checkpoint(out, "cpu")
    assert loaded.info["postprocessing"] == settings.to_dict()
    assert postprocessing(loaded) == settings
    assert postprocessing(loaded, 0.3, nms_window_s=6.0) == replace(settings, threshold=0.3, nms_window_s=6.0,
                                                                    class_nms_windows_s=())
    uniform = postprocessing(loaded, refine_window_s=0.0).refinement
    assert uniform == Refinement.uniform(0.0) and postprocessing(loaded, refine_window_s=0.0).suppression == settings.suppression
