"""The game page follows the game's class set and frame rate (AppTest): a 1-fps Baidu game keeps its real
half lengths, with or without a model of its rate; a Ball Action game at 25 fps has a lane per ball class,
its video, its events on the timeline and its own metric."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from spotting.checkpoint import save_checkpoint
from spotting.model import CALF, ModelConfig
from spotting.specs import BALL_2023
from spotting.synth.ball import generate_ball_game

ROOT = Path(__file__).resolve().parents[1]
PAGE = str(ROOT / "spotting" / "ui" / "page.py")
CASE = ROOT.parent / "shared" / "cases" / "baidu-1fps" / "make.py"
CITY_CHELSEA = "england_epl/2015-2016/2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea"
BALL_GAME = "england_efl/2019-2020/2019-10-01 - Reading - Fulham"


def run_clean(app: AppTest, errors: bool = False) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    if not errors:
        assert not app.error, [e.value for e in app.error]
    return app


def player_data(app: AppTest) -> dict:
    element = next(e for e in app.main if e.type == "bidi_component")
    return json.loads(element.proto.json)


def open_game(app: AppTest, root: Path, features: str | None = None) -> AppTest:
    app.session_state["source"] = "SoccerNet folder"
    app.session_state["sn_root"] = str(root)
    app.session_state["sn_split"] = "all folders"
    if features:
        app.session_state["sn_features"] = features
    return app


def marker_seconds(figure: dict) -> np.ndarray:
    return np.array([x for t in figure["data"] if t.get("mode") == "markers" for x in t["x"] if x is not None], float)


@pytest.fixture(scope="module")
def baidu(tmp_path_factory, shared_data) -> Path:
    out = tmp_path_factory.mktemp("baidu")
    subprocess.run([sys.executable, str(CASE), str(out)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    torch.manual_seed(0)
    for name, rate in (("one_fps.pt", 1.0), ("two_fps.pt", 2.0)):
        config = ModelConfig(feature_dim=8576, framerate=rate, chunk_seconds=120.0, receptive_field_seconds=40.0,
                             attention=False)
        save_checkpoint(out / name, CALF(config), features="baidu_soccer_embeddings.npy")
    return out


@pytest.fixture()
def app(monkeypatch) -> AppTest:
    monkeypatch.delenv("STUDIO_DEMO_DIR", raising=False)
    return AppTest.from_file(PAGE, default_timeout=120)


def test_a_1fps_game_shows_its_real_half_lengths_and_every_event(app, baidu, monkeypatch):
    monkeypatch.setenv("SOCCERNET_PREDICTIONS_DIR", str(baidu / "predictions"))
    run_clean(open_game(app, baidu / "SoccerNet"))
    data = player_data(app)
    assert int(data["half_duration_s"]) == 2840  # 47:20, not the 23:40 of 2840 frames read at 2 fps
    assert any("47:20 long" in c.value for c in app.main.caption)
    assert any("drawn at 1 fps" in c.value for c in app.main.caption)
    figure = json.loads(data["figure_json"])
    seconds = marker_seconds(figure)
    assert seconds.size > 100 and seconds.max() > 2000 and seconds.max() <= 2840  # labels and NetVLAD, all of them
    assert figure["layout"]["xaxis"]["range"][1] > 2840
    app.session_state["half"] = 2
    run_clean(app)
    assert int(player_data(app)["half_duration_s"]) == 2807  # 46:47


def test_a_1fps_model_runs_and_a_2fps_one_is_refused(app, baidu):
    open_game(app, baidu / "SoccerNet")
    app.session_state["run_model_game"] = True
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(baidu / "one_fps.pt")
    run_clean(app)
    data = player_data(app)
    assert int(data["half_duration_s"]) == 2840
    figure = json.loads(data["figure_json"])
    curves = [t for t in figure["data"] if t.get("mode") == "lines"]
    assert curves and max(max(t["x"]) for t in curves) > 2800  # the model's curves span the whole half
    app.session_state["ckpt_path"] = str(baidu / "two_fps.pt")
    run_clean(app, errors=True)
    errors = [e.value for e in app.error]
    assert any("1_baidu_soccer_embeddings.npy" in e and "about 1 fps" in e and "the model at 2 fps" in e
               for e in errors), errors
    assert int(player_data(app)["half_duration_s"]) == 2840  # the game is still drawn right, without the model


@pytest.fixture(scope="module")
def ball(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ball")
    game = generate_ball_game(root / "ball" / BALL_GAME, seed=7, half_seconds=(60.0, 60.0), video=True)
    rows = [{**a, "half": a["gameTime"][0], "confidence": "0.9"}
            for a in json.loads(game.labels_path.read_text())["annotations"][::2]]
    rows.append({"gameTime": "1 - 00:30", "label": "DRIVE", "position": "30000", "half": "1", "confidence": "0.4"})
    target = root / "predictions" / "shifted" / BALL_GAME
    target.mkdir(parents=True)
    (target / "results_spotting.json").write_text(json.dumps({"predictions": rows}))
    return root


def test_a_ball_game_plays_at_25_fps_with_a_lane_per_ball_class(app, ball, monkeypatch):
    monkeypatch.setenv("SOCCERNET_PREDICTIONS_DIR", str(ball / "predictions"))
    run_clean(open_game(app, ball / "ball"))
    data = player_data(app)
    assert abs(data["half_duration_s"] - 60.0) < 0.2  # the video's length: 1500 frames at 25 fps
    assert data["video_url"]
    figure = json.loads(data["figure_json"])
    assert figure["layout"]["yaxis"]["ticktext"] == list(BALL_2023.classes)
    seconds = marker_seconds(figure)
    assert seconds.size > 20 and 0 <= seconds.min() and seconds.max() <= 60.0
    assert data["event_times_s"] and max(data["event_times_s"]) <= 60.0
    table = next(d.value for d in app.main.dataframe if "status" in d.value.columns)
    assert set(table["class"]) <= {"PASS", "DRIVE"} and len(table) > 10
    assert app.session_state["nms"] == "own"  # a model uses its own windows (Ball: its task's 2 s, not 20)
    metrics = next(d.value for d in app.main.dataframe if "at1" in d.value.columns)
    assert 0.4 < float(metrics["at1"].iloc[0]) <= 1.0
    assert app.multiselect(key="override_classes").options == ["PASS", "DRIVE"]


def test_25fps_features_with_the_2fps_demo_model_show_an_error_or_a_warning(app, tmp_path):
    demo_model = ROOT / "assets" / "demo" / "model.pt"
    if not demo_model.is_file():
        pytest.skip("demo model missing")
    subprocess.run([sys.executable, str(ROOT.parent / "shared" / "cases" / "features-25fps" / "make.py"),
                    str(tmp_path / "case")], cwd=ROOT, check=True, capture_output=True, timeout=300)
    root = tmp_path / "case" / "SoccerNet"
    open_game(app, root)
    app.session_state["run_model_game"] = True
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(demo_model)
    run_clean(app, errors=True)
    errors = [e.value for e in app.error]
    assert any("1_synthetic512.npy" in e and "about 25 fps" in e and "the model at 2 fps" in e and "--framerate 25" in e
               for e in errors), errors
    assert abs(player_data(app)["half_duration_s"] - 600) < 20  # drawn as the 10-minute half it is
    # Without labels nothing tells the rate: at the model's 2 fps the half lasts 125 minutes, and the page says so.
    (root / "league" / "2020-2021" / "game-25fps" / "Labels-v2.json").unlink()
    fresh = AppTest.from_file(PAGE, default_timeout=120)
    open_game(fresh, root)
    fresh.session_state["run_model_game"] = True
    fresh.session_state["ckpt_mode"] = "Checkpoint path"
    fresh.session_state["ckpt_path"] = str(demo_model)
    fresh.run()
    assert not fresh.exception, fresh.exception
    assert any("125:00 half" in w.value and "another frame rate" in w.value for w in fresh.warning)
