"""The game page's task and timing helpers (spotting/ui/task.py): class set and frame rate from the data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spotting.errors import InputError
from spotting.soccernet import game_at
from spotting.specs import BALL_2023, SOCCERNET_V2
from spotting.synth.ball import generate_ball_game
from spotting.ui.task import game_specifications, game_timing, task_problem

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT.parent / "shared" / "cases" / "baidu-1fps" / "make.py"
GAME = "england_epl/2015-2016/2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea"


def test_a_1fps_game_keeps_its_real_half_lengths(tmp_path, shared_data):
    subprocess.run([sys.executable, str(CASE), str(tmp_path)], cwd=ROOT, check=True, capture_output=True)
    root = tmp_path / "SoccerNet"
    game = game_at(root / GAME, root, features="baidu_soccer_embeddings.npy")
    spec = game_specifications(game.directory, root)
    labels = game.read_labels(classes=spec)
    frames = {h: int(game.load_features(h).shape[0]) for h in (1, 2)}
    timing = game_timing(game, labels, frames)  # no model: 2 fps is contradicted by the labels
    assert spec == SOCCERNET_V2 and timing.framerate == 1.0 and "1 fps" in timing.note
    assert {h: int(s) for h, s in timing.lengths_s.items()} == {1: 2840, 2: 2807}  # 47:20 and 46:47
    with pytest.raises(InputError, match="about 1 fps"):
        game_timing(game, labels, frames, model_rate=2.0)  # a 2-fps model on them: the page's st.error
    assert game_timing(game, labels, frames, model_rate=1.0).lengths_s[1] == 2840.0


def test_a_ball_game_is_recognised_and_drawn_at_25_fps(tmp_path):
    game = generate_ball_game(tmp_path / "game", 4, (60.0, 50.0))
    spec = game_specifications(game.directory)
    assert spec == BALL_2023
    frames = {h: int(game.load_features(h).shape[0]) for h in (1, 2)}
    timing = game_timing(game, game.read_labels(classes=spec), frames, default_rate=spec.framerate)
    assert timing.framerate == 25.0 and timing.lengths_s == {1: 60.0, 2: 50.0} and not timing.note
    assert task_problem(SOCCERNET_V2, spec, "demo.pt") is not None and task_problem(BALL_2023, spec, "m.pt") is None
