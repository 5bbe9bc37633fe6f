"""Issue #20: nothing typed, uploaded or linked breaks a page; served on a network, nothing outside the data is reachable.

One section per item of the issue: the page under AppTest (no exception, an error naming the file,
the rest of the page drawn), the CLIs in a subprocess (exit 2, the file named), several browser
sessions on a real server for the video allow-list and the per-session upload folder.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from spotting.soccernet import MAX_JSON_BYTES, read_json
from spotting.errors import InputError
from spotting.ui import paths, sources, uploads, video
from test_app import (FEATURES, GAME_NAME, PAGE, app, event_rows, fixture_root, open_root,  # noqa: F401 (fixtures)
                      soccernet_game)
from test_video import reversed_timestamps_mkv, write_video

REPO = Path(__file__).resolve().parents[1]
SPLIT_PAGE = str(REPO / "spotting" / "ui" / "split_page.py")
SECRET = "SECRET-CONTENT-7f3a"  # written into files the app must refuse: never echoed back


@pytest.fixture(autouse=True)
def clean_video_registry(tmp_path, monkeypatch):
    monkeypatch.setenv(video.CACHE_ENV, str(tmp_path / "video-cache"))
    monkeypatch.delenv(paths.DATA_ROOTS_ENV, raising=False)
    video.clear_registry()
    yield
    video.clear_registry()


def messages(app: AppTest) -> str:
    return " | ".join(e.value for e in app.error)


def player_drawn(app: AppTest) -> bool:
    """The timeline is drawn: the player component (or the plotly fallback) holds the figure."""
    return any("figure" in str(getattr(e, "proto", "")) or e.type == "plotly_chart" for e in app.main)


def copy_game(fixture_root: Path, root: Path, name: str = GAME_NAME, labels: str | None = None) -> Path:
    """The fixture game's features and labels in a new SoccerNet root (optionally other labels)."""
    source = fixture_root / "soccernet" / GAME_NAME
    game = root / name
    game.mkdir(parents=True)
    for half in (1, 2):
        (game / f"{half}_{FEATURES}").write_bytes((source / f"{half}_{FEATURES}").read_bytes())
    (game / "Labels-v2.json").write_text(labels if labels is not None else (source / "Labels-v2.json").read_text())
    return game


def results_json(predictions: list[dict]) -> str:
    return json.dumps({"UrlLocal": "", "predictions": predictions})


def prediction(**overrides) -> dict:
    return {"gameTime": "1 - 00:10", "label": "Goal", "position": "10000", "half": "1", "confidence": "0.9",
            **overrides}


NESTED = "[" * 4000 + "]" * 4000  # 8 KB: deeper than json's recursion allows


# ------------------------------------------------------------------ 1. a video that is not a video

def test_symlinked_non_video_names_the_file_and_the_page_draws_without_video(app, fixture_root, tmp_path):
    game = copy_game(fixture_root, tmp_path / "sn")
    (game / "1_224p.mp4").symlink_to(game / "Labels-v2.json")
    open_root(app, tmp_path / "sn")
    app.session_state["threshold"] = 0.0
    app.session_state["results_paths"] = str(fixture_root / "other" / "results_spotting.json")
    app.run()
    assert not app.exception, app.exception
    assert "1_224p.mp4: not an MP4 video" in messages(app)
    assert len(event_rows(app)) > 0 and player_drawn(app)  # the table and the timeline are there
    assert "annotations" not in messages(app), "the message quotes nothing of the file"


# ------------------------------------------------------------------ 2. nested JSON, huge positions

def write_results_tree(root: Path, name: str, text: str) -> Path:
    path = root / name / GAME_NAME / "results_spotting.json"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("name, text, code, problem", [
    ("nested", NESTED, 2, "nested too deeply"),
    ("nested_in_object", '{"predictions": ' + NESTED + "}", 2, "nested too deeply"),
    ("position_1e400", results_json([prediction(position=1e400)]).replace("Infinity", "1e400"), 2, "prediction 0 is malformed"),
    ("position_1e400_string", results_json([prediction(position="1e400")]), 2, "prediction 0 is malformed"),
    ("position_1e30_string", results_json([prediction(position="1e30")]), 2, "prediction 0 is malformed"),
    ("not_json", f"{SECRET}: not json", 2, "does not start with"),
    ("position_1e30", results_json([prediction(position=1e30, half=1, confidence=0.9)]), 0, "past 120 minutes"),
])
def test_evaluate_cli_exits_2_naming_the_file(fixture_root, tmp_path, name, text, code, problem):
    path = write_results_tree(tmp_path, name, text)
    done = subprocess.run([sys.executable, "-m", "spotting.evaluate", "--soccernet-dir", str(fixture_root / "soccernet"),
                           "--predictions-dir", str(tmp_path / name)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    assert problem in done.stderr and (code == 0 or str(path) in done.stderr)
    assert SECRET not in done.stderr + done.stdout


@pytest.mark.parametrize("labels, problem", [
    (NESTED, "nested too deeply"),
    (json.dumps({"annotations": [{"gameTime": "1 - 00:10", "label": "Goal", "position": "1e400"}]}), "bad position"),
])
def test_evaluate_cli_bad_labels_exit_2(tmp_path, labels, problem):
    game = tmp_path / "sn" / GAME_NAME
    game.mkdir(parents=True)
    (game / "Labels-v2.json").write_text(labels)
    write_results_tree(tmp_path, "model", results_json([prediction()]))
    done = subprocess.run([sys.executable, "-m", "spotting.evaluate", "--soccernet-dir", str(tmp_path / "sn"),
                           "--predictions-dir", str(tmp_path / "model")], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert problem in done.stderr and "Labels-v2.json" in done.stderr


@pytest.mark.parametrize("text, problem", [
    (NESTED, "nested too deeply"),
    (results_json([prediction(position="1e400")]), "prediction 0 is malformed"),
    (results_json([prediction(position=1e400)]).replace("Infinity", "1e400"), "prediction 0 is malformed"),
])
def test_results_path_and_upload_with_bad_values_give_an_error(app, tmp_path, text, problem):
    path = tmp_path / "bad" / "results_spotting.json"
    path.parent.mkdir()
    path.write_text(text)
    soccernet_game(app)
    app.session_state["results_paths"] = str(path)
    app.run()
    app.file_uploader(key="results_uploads").set_value(("my_upload.json", text.encode(), "application/json"))
    app.run()
    assert not app.exception, app.exception
    assert f"{path}: " in messages(app) and problem in messages(app)
    assert any(e.value.startswith("my_upload.json: ") and problem in e.value for e in app.error)
    assert set(event_rows(app)["source"]) == {"modelA"}  # the good source still shows


def test_huge_position_is_clipped_and_said(app, tmp_path):
    path = tmp_path / "far" / "results_spotting.json"
    path.parent.mkdir()
    path.write_text(results_json([prediction(position=1e30, half=1), prediction(position="20000")]))
    soccernet_game(app)
    app.session_state["results_paths"] = str(path)
    app.session_state["threshold"] = 0.0
    app.run()
    assert not app.exception and not app.error, (app.exception, messages(app))
    assert any("past 120 minutes" in w.value and str(path) in w.value for w in app.warning)


@pytest.mark.parametrize("labels, problem", [
    (NESTED, "nested too deeply"),
    (json.dumps({"annotations": [{"gameTime": "1 - 00:10", "label": "Goal", "position": 1e400}]}).replace(
        "Infinity", "1e400"), "bad position"),
    (json.dumps({"annotations": [{"gameTime": "1 - 00:10", "label": ["Goal"], "position": "1"}]}),
     "label is a list, not a class name"),  # unhashable label: the labels reader names it (was a TypeError)
])
def test_game_with_bad_labels_gives_an_error_naming_them(app, fixture_root, tmp_path, labels, problem):
    copy_game(fixture_root, tmp_path / "sn", labels=labels)
    open_root(app, tmp_path / "sn")
    app.run()
    assert not app.exception, app.exception
    assert "Labels-v2.json" in messages(app) and problem in messages(app)


def test_split_page_names_a_labels_file_of_another_shape(fixture_root, tmp_path, monkeypatch):
    copy_game(fixture_root, tmp_path / "sn", labels=json.dumps(
        {"annotations": [{"gameTime": "1 - 00:10", "label": {"name": "Goal"}, "position": "1"}]}))
    monkeypatch.setenv("SOCCERNET_DIR", str(tmp_path / "sn"))
    app = AppTest.from_file(SPLIT_PAGE, default_timeout=60)
    app.session_state["sn_split"] = "all folders"
    app.run()
    assert not app.exception, app.exception
    assert "Labels-v2.json: annotation 0: label is a dict, not a class name" in messages(app)


# ------------------------------------------------------------------ 3. a 2 GB file typed as a results path

def test_huge_results_path_is_refused_from_its_size_once(app, tmp_path, monkeypatch):
    huge = tmp_path / "huge" / "results_spotting.json"
    huge.parent.mkdir()
    with open(huge, "wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: 2 GB long, nothing on disk
    reads = []
    original = sources.read_results_file
    monkeypatch.setattr(sources, "read_results_file", lambda *a, **k: reads.append(a) or original(*a, **k))
    soccernet_game(app)
    app.session_state["results_paths"] = str(huge)
    app.run()
    assert not app.exception
    assert f"{huge}: 2,048 MB, over the {MAX_JSON_BYTES // 2**20} MB limit" in messages(app)
    started = time.perf_counter()
    app.slider(key="threshold").set_value(0.4).run()  # a slider move: the failure comes from the cache
    rerun_s = time.perf_counter() - started
    assert not app.exception and "over the 200 MB limit" in messages(app)
    assert len(reads) == 1, "a failed file is cached like a read one"
    assert rerun_s < 5, rerun_s


def test_read_json_checks_size_and_first_bytes_before_parsing(tmp_path, monkeypatch):
    secret = tmp_path / "id_rsa"
    secret.write_text(f"-----BEGIN KEY-----\n{SECRET}\n")
    with pytest.raises(InputError, match="does not start with") as caught:
        read_json(secret)
    assert SECRET not in str(caught.value) and "BEGIN" not in str(caught.value)
    big = tmp_path / "big.json"
    big.write_text('{"predictions": []}' + " " * 2000)
    monkeypatch.setattr("spotting.soccernet.MAX_JSON_BYTES", 1000)
    with pytest.raises(InputError, match="over the 0 MB limit"):
        read_json(big)


# ------------------------------------------------------------------ 5. video cache or conversion failing

@pytest.mark.parametrize("case", ["cache folder", "remux"])
def test_video_failures_give_an_error_and_a_page_without_video(app, fixture_root, tmp_path, monkeypatch, case):
    game = copy_game(fixture_root, tmp_path / "sn")
    if case == "cache folder":
        write_video(game / "1_224p.mkv", "libx264")
        (tmp_path / "a-file").write_text("")
        monkeypatch.setenv(video.CACHE_ENV, str(tmp_path / "a-file" / "cache"))  # under a file: cannot be created
        expected = "cannot create the video cache folder for 1_224p.mkv"
    else:
        reversed_timestamps_mkv(game / "1_224p.mkv")
        expected = "1_224p.mkv: could not be prepared for the browser"
    open_root(app, tmp_path / "sn")
    app.session_state["threshold"] = 0.0
    app.session_state["results_paths"] = str(fixture_root / "other" / "results_spotting.json")
    app.run()
    assert not app.exception, app.exception
    assert expected in messages(app)
    assert len(event_rows(app)) > 0 and player_drawn(app)


# ------------------------------------------------------------------ 6. shared links

@pytest.mark.parametrize("query, key, expected, noted", [
    ({"thr": "5"}, "threshold", 1.0, "set to 1"),
    ({"thr": "-1"}, "threshold", 0.0, "set to 0"),
    ({"thr": "nan"}, "threshold", None, "ignored"),
    ({"thr": "inf"}, "threshold", None, "ignored"),
    ({"nms": "0"}, "nms", 2.0, "set to 2"),
    ({"nms": "1e9"}, "nms", 60.0, "set to 60"),
    ({"nms": "12.4"}, "nms", 12.0, "set to 12"),
    ({"half": "3"}, "half", 1, "ignored"),
    ({"half": "1.5"}, "half", 1, "ignored"),
    ({"t": "nan"}, "_time_s", None, "ignored"),
    ({"t": "-5"}, "_time_s", 0.0, "set to 0"),
    ({"tol": "7"}, "tolerance", 5, "set to 5"),
    ({"cls": "Goal:9,Nope:0.5,Corner:nan"}, "thr::Goal", 1.0, "ignored"),
    ({"src": "../../etc"}, "source", None, "ignored"),
])
def test_link_values_are_clamped_or_ignored_with_a_notice(app, query, key, expected, noted):
    app.query_params.update(query)
    app.run()
    assert not app.exception, app.exception
    value = app.session_state[key] if key in app.session_state else None
    if expected is None:  # ignored: the page's default stands
        assert value == {"threshold": pytest.approx(0.2), "_time_s": 0.0, "source": "Demo game"}.get(key, value)
    else:
        assert value == pytest.approx(expected)
    notes = app.session_state["_url_notes"]
    assert notes and noted in " ".join(notes)
    assert any("link" in t.value for t in app.toast), "the notice is shown"


def test_link_with_valid_values_has_no_notice(app):
    app.query_params.update({"thr": "0.35", "nms": "15", "half": "2", "t": "120", "tol": "10", "cls": "Goal:0.25"})
    app.run()
    assert not app.exception
    assert app.session_state["_url_notes"] == [] and not list(app.toast)
    assert app.session_state["threshold"] == pytest.approx(0.35) and app.session_state["half"] == 2


def test_link_to_an_unknown_game_or_prediction_set_says_so(app):
    app.query_params.update({"src": "soccernet", "split": "all folders", "game": "no/such/game", "pred": "bogus,modelA"})
    app.run()
    assert not app.exception and not app.error, (app.exception, messages(app))
    assert any("no/such/game" in c.value and "not in this split" in c.value for c in app.sidebar.caption)
    app.query_params.clear()
    app2 = AppTest.from_file(PAGE, default_timeout=60)
    app2.query_params.update({"src": "soccernet", "split": "all folders", "game": GAME_NAME, "pred": "bogus,modelA"})
    app2.run()
    assert not app2.exception, app2.exception
    assert set(event_rows(app2)["source"]) == {"modelA"}


# ------------------------------------------------------------------ 8. data roots, uploads, no echo

def test_config_binds_to_loopback_and_network_detection():
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert not paths.listens_beyond_loopback("127.0.0.1") and not paths.listens_beyond_loopback("::1")
    assert not paths.listens_beyond_loopback("localhost")
    for address in (None, "", "0.0.0.0", "::", "192.168.1.20", "studio.example.org"):
        assert paths.listens_beyond_loopback(address), address
    assert not paths.served_on_network()  # no server in a test process


def test_data_roots_default_to_the_soccernet_and_predictions_roots_and_assets(monkeypatch, fixture_root):
    monkeypatch.setenv("SOCCERNET_DIR", str(fixture_root / "soccernet"))
    monkeypatch.delenv("SOCCERNET_PREDICTIONS_DIR", raising=False)
    roots = paths.data_roots()
    for expected in (fixture_root / "soccernet", fixture_root / "predictions", REPO / "assets"):
        assert expected.resolve() in roots
    monkeypatch.setenv(paths.DATA_ROOTS_ENV, os.pathsep.join([str(fixture_root / "other"), "/srv/data"]))
    roots = paths.data_roots()
    assert (fixture_root / "other").resolve() in roots and Path("/srv/data") in roots
    assert (fixture_root / "soccernet").resolve() not in roots


@pytest.fixture()
def restricted_app(app, fixture_root, monkeypatch):
    """The page as served on a network: typed paths limited to the fixture's SoccerNet and predictions roots."""
    monkeypatch.setenv(paths.DATA_ROOTS_ENV, os.pathsep.join([str(fixture_root / "soccernet"),
                                                              str(fixture_root / "predictions")]))
    return app


def test_restricted_results_and_checkpoint_paths_outside_the_roots_are_refused_unread(restricted_app, fixture_root,
                                                                                       tmp_path, monkeypatch):
    app = restricted_app
    outside = tmp_path / "private" / "results_spotting.json"
    outside.parent.mkdir()
    outside.write_text(SECRET)
    opened = []
    original = sources.read_results_file
    monkeypatch.setattr(sources, "read_results_file", lambda *a, **k: opened.append(a) or original(*a, **k))
    soccernet_game(app)
    app.session_state["results_paths"] = "\n".join([str(outside), "/etc/passwd", str(fixture_root / "other" /
                                                                                     "results_spotting.json")])
    app.run()
    assert not app.exception, app.exception
    text = messages(app)
    assert text.count("outside the data folders this app serves") == 3
    assert SECRET not in text and "root:" not in text
    assert all(Path(path).is_relative_to(fixture_root / "predictions") for path, *_ in opened), opened
    assert set(event_rows(app)["source"]) == {"modelA"}  # the saved predictions inside the roots still show
    app.session_state["run_model_game"] = True
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(fixture_root / "model.pt")  # beside the roots, not in them
    app.run()
    assert not app.exception
    assert f"{fixture_root / 'model.pt'}: this checkpoint is outside the data folders" in messages(app)


def test_restricted_soccernet_root_and_features_name_are_checked(restricted_app, tmp_path):
    app = restricted_app
    open_root(app, tmp_path)
    app.run()
    assert not app.exception
    assert "this SoccerNet root is outside the data folders" in messages(app)
    app.session_state["sn_root"] = os.environ["SOCCERNET_DIR"]
    app.session_state["sn_features"] = "../../../../etc/passwd"
    app.run()
    assert not app.exception
    # Features are picked among the game folder's own 1_*.npy files (#14): another name is never opened.
    assert any("are not in this game's folder" in c.value for c in app.sidebar.caption)
    assert app.session_state["sn_features"] == FEATURES


def test_restricted_split_page_refuses_folders_root_and_checkpoint_outside(fixture_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SOCCERNET_DIR", str(fixture_root / "soccernet"))
    monkeypatch.setenv(paths.DATA_ROOTS_ENV, str(fixture_root / "soccernet"))
    app = AppTest.from_file(SPLIT_PAGE, default_timeout=60)
    app.session_state["sn_split"] = "all folders"
    app.session_state["split_dirs"] = str(fixture_root / "predictions" / "modelA")
    app.session_state["split_checkpoint"] = str(fixture_root / "model.pt")
    app.run()
    assert not app.exception, app.exception
    text = messages(app)
    assert "this prediction folder is outside the data folders" in text
    assert "this checkpoint is outside the data folders" in text
    app.session_state["sn_root"] = str(tmp_path)
    app.run()
    assert not app.exception and "this SoccerNet root is outside the data folders" in messages(app)


def test_local_use_opens_any_typed_path(app, fixture_root):
    """Not restricted (bound to 127.0.0.1, no STUDIO_DATA_ROOTS): a results file anywhere opens."""
    soccernet_game(app)
    app.session_state["results_paths"] = str(fixture_root / "other" / "results_spotting.json")
    app.run()
    assert not app.exception and not app.error
    assert set(event_rows(app)["source"]) == {"modelA", "other"}


def test_checkpoint_path_to_a_secret_file_does_not_echo_it(app, tmp_path):
    secret = tmp_path / "notes.pt"
    secret.write_text(SECRET)
    app.session_state["run_model"] = True
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(secret)
    app.run()
    assert not app.exception
    assert "not a readable PyTorch checkpoint" in messages(app) and SECRET not in messages(app)


def test_uploads_go_to_a_session_folder_within_a_size_cap(app, fixture_root, monkeypatch):
    game = fixture_root / "soccernet" / GAME_NAME
    app.session_state["source"] = "Upload files"
    app.run()
    app.file_uploader(key="up_labels").set_value(("Labels-v2.json", (game / "Labels-v2.json").read_bytes(),
                                                  "application/json"))
    app.run()
    assert not app.exception and not app.error, messages(app)
    uploaded = [p for p in uploads.UPLOAD_ROOT.glob(f"{os.getpid()}-*/game-*/Labels-v2.json")]
    assert uploaded, "the upload lies in this process's session folder"
    folder = uploaded[0].parents[1]
    assert folder.stat().st_mode & 0o077 == 0, "only the server's user can read it"
    monkeypatch.setattr(uploads, "MAX_SESSION_UPLOAD_BYTES", 1000)
    # Bytes no other test uploads: an identical upload (test_app's) is already on disk and, rightly, not
    # counted again, which made this test depend on the order the suite runs in.
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(os.getpid()).standard_normal((600, 512)).astype(np.float32))
    app.file_uploader(key="up_f1").set_value(("1_mine.npy", buffer.getvalue(), "application/octet-stream"))
    app.run()
    assert not app.exception
    assert "1_mine.npy: uploads of this session would exceed" in messages(app)


def test_session_upload_folder_is_removed_on_release(tmp_path):
    folder = tmp_path / "123-abc"
    (folder / "game-1").mkdir(parents=True)
    (folder / "game-1" / "1_uploaded.npy").write_bytes(b"x")
    uploads._upload_names[str(folder / "game-1" / "1_uploaded.npy")] = "mine.npy"
    uploads._remove_upload_dir(folder)
    assert not folder.exists() and str(folder / "game-1" / "1_uploaded.npy") not in uploads._upload_names


def test_no_thread_is_started_on_import():
    code = ("import threading; before = threading.active_count(); "
            "import spotting.ui.sources, spotting.ui.video, spotting.ui.paths, spotting.ui.split_sources; "
            "print(threading.active_count() - before)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "0", done.stdout + done.stderr


# ------------------------------------------------------------------ the rest of the issue

def test_nan_confidences_and_fractional_halves_are_shown(app, tmp_path):
    path = tmp_path / "odd" / "results_spotting.json"
    path.parent.mkdir()
    path.write_text(results_json([prediction(confidence="nan"), prediction(confidence="inf", position="30000"),
                                  prediction(half=1.5, position="50000")]))
    soccernet_game(app)
    app.session_state["results_paths"] = str(path)
    app.run()
    assert not app.exception and not app.error, messages(app)
    warning = next(w.value for w in app.warning if str(path) in w.value)
    assert "2 confidences not finite" in warning and "1 half not a whole number" in warning


@pytest.mark.parametrize("value, problem", [
    (1e300, "values too large for 32-bit floats"),  # float64 on disk, infinite as the model's float32
    (1e30, "are not finite"),  # finite in float32, but the model's outputs overflow to NaN
])
def test_features_that_break_the_model_are_named(app, fixture_root, tmp_path, value, problem):
    game = copy_game(fixture_root, tmp_path / "sn")
    np.save(game / f"1_{FEATURES}", np.full((600, 512), value, dtype=np.float64 if value > 1e38 else np.float32))
    open_root(app, tmp_path / "sn")
    app.session_state["run_model_game"] = True
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(fixture_root / "model.pt")
    app.run()
    assert not app.exception, app.exception
    assert f"1_{FEATURES}: " in messages(app) and problem in messages(app)


def test_errors_after_an_upload_name_the_uploaded_file(app, fixture_root):
    game = fixture_root / "soccernet" / GAME_NAME
    soccernet_game(app)
    app.session_state["run_model_game"] = True
    app.session_state["ckpt_mode"] = "Upload checkpoint"
    app.run()
    app.file_uploader(key="ckpt_upload").set_value(("my_model.pt", b"not a checkpoint", "application/octet-stream"))
    app.run()
    assert not app.exception
    assert "my_model.pt: not a readable PyTorch checkpoint" in messages(app)
    assert str(uploads.UPLOAD_ROOT) not in messages(app)
    # Features of another dimension than the checkpoint's: the error names the uploaded features file.
    app2 = AppTest.from_file(PAGE, default_timeout=60)
    app2.session_state["source"] = "Upload files"
    app2.run()
    app2.file_uploader(key="up_f1").set_value(("1_small.npy", _npy(np.zeros((100, 16), np.float32)),
                                               "application/octet-stream"))
    app2.session_state["run_model_game"] = True
    app2.session_state["ckpt_mode"] = "Checkpoint path"
    app2.session_state["ckpt_path"] = str(fixture_root / "model.pt")
    app2.run()
    assert not app2.exception, app2.exception
    assert "1_small.npy: " in messages(app2) and str(uploads.UPLOAD_ROOT) not in messages(app2)


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_a_huge_results_file_is_thinned_on_the_timeline_only(app, tmp_path):
    """200,000 predictions (the issue's 10^6 took 25 s per slider move; measured by hand, see the commit):
    the timeline draws a few thousand, the table keeps every event above the threshold."""
    from spotting.results import write_results
    from spotting.soccernet import Annotations

    rng = np.random.default_rng(1)
    n = 200_000
    events = Annotations.from_lists(rng.integers(1, 3, n), rng.integers(0, 300_000, n), rng.integers(0, 17, n),
                                    np.ones(n, bool), [""] * n, rng.random(n))
    path = write_results(tmp_path / "big" / "results_spotting.json", events, GAME_NAME)
    soccernet_game(app)
    app.session_state["results_paths"] = str(path)
    app.session_state["threshold"] = 0.5
    app.run()
    assert not app.exception, app.exception
    started = time.perf_counter()
    app.slider(key="threshold").set_value(0.6).run()
    moved_s = time.perf_counter() - started
    assert not app.exception
    big = events.select((events.half == 1) & (events.confidence >= 0.6))
    assert int((event_rows(app)["source"] == "big").sum()) == len(big), "the table keeps every event"
    assert moved_s < 15, moved_s


def test_timeline_figure_thins_a_huge_lane_but_keeps_each_bins_best():
    from spotting.soccernet import Annotations
    from spotting.ui.figures import MAX_LANE_MARKERS, Lane, thin_markers, timeline_figure

    rng = np.random.default_rng(0)
    n = 500_000
    events = Annotations.from_lists(np.ones(n, int), rng.integers(0, 2_700_000, n), rng.integers(0, 17, n),
                                    np.ones(n, bool), [""] * n, rng.random(n))
    best = int(np.argmax(events.confidence))
    matched = rng.random(n) < 0.1
    started = time.perf_counter()
    figure = timeline_figure(half=1, half_duration_s=2700, classes=list(range(17)), lanes=[Lane("big", events, matched)])
    assert time.perf_counter() - started < 3
    drawn = sum(len(trace["x"]) for trace in figure["data"])
    assert drawn <= MAX_LANE_MARKERS + 17 * 2
    assert any("most confident of" in trace["name"] for trace in figure["data"])
    thinned = thin_markers(events, 2700)
    assert events.position_ms[best] in thinned.position_ms  # the single most confident event is drawn
    small = events.select(np.arange(n) < 100)
    assert thin_markers(small, 2700) is small


# ------------------------------------------------------------------ several browser sessions on a real server

def _browser_or_skip() -> None:
    from browser_support import CHROMIUM

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed")
    if not CHROMIUM.exists():
        if os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} not found")
        pytest.skip(f"{CHROMIUM} not found")


def _player_video_src(page, timeout_s: float = 90) -> str:
    """The player's video URL once its video has metadata (the element lives in the component's shadow root)."""
    video_element = page.locator("[data-testid='studio-player'] video")
    video_element.wait_for(state="attached", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if video_element.evaluate("v => v.readyState") >= 1:
            return video_element.get_attribute("src")
        time.sleep(0.2)
    raise TimeoutError("the player's video never loaded")


@pytest.mark.browser
def test_five_sessions_on_five_games_keep_their_videos_and_uploads_go_with_the_session(tmp_path):
    """Issue #20 item 4 (a paused session's video stayed servable only for the last 4 games opened by
    anyone) and item 8's per-session upload folder, on `streamlit run app.py` with five browser sessions."""
    _browser_or_skip()
    from browser_support import chromium_browser, streamlit_server

    root = tmp_path / "soccernet"
    names = [f"league/2020-2021/2020-01-0{i + 1} - 20-00 Home{i} 1 - 0 Away{i}" for i in range(5)]
    for name in names:
        game = root / name
        game.mkdir(parents=True)
        (game / "Labels-v2.json").write_text(json.dumps({"annotations": [
            {"gameTime": "1 - 00:01", "label": "Goal", "position": "1000", "team": "home", "visibility": "visible"}]}))
        write_video(game / "1_224p.webm", "libvpx", seconds=3)
    temp = tmp_path / "server-tmp"
    temp.mkdir()
    env = {"SOCCERNET_DIR": str(root), "TMPDIR": str(temp), video.CACHE_ENV: str(tmp_path / "cache")}
    from urllib.parse import quote

    with streamlit_server("app.py", env=env) as url, chromium_browser() as browser:
        contexts, pages, sources_ = [], [], []
        for name in names:  # one browser context per session, each on its own game
            context = browser.new_context(viewport={"width": 1400, "height": 1600})
            page = context.new_page()
            page.goto(f"{url}/?src=soccernet&split=all+folders&game={quote(name)}")
            contexts.append(context)
            pages.append(page)
            sources_.append(_player_video_src(page))
        assert len(set(sources_)) == 5
        for page, src in zip(pages, sources_):  # every session's video still answers ranges
            response = page.request.get(url + src, headers={"Range": "bytes=0-99"})
            assert response.status == 206, (src, response.status)
        # The first session, paused since, seeks: no network error.
        error = pages[0].locator("[data-testid='studio-player'] video").evaluate(
            """v => new Promise(resolve => {
                   v.addEventListener('seeked', () => resolve(v.error ? v.error.code : 0), {once: true});
                   setTimeout(() => resolve(v.error ? v.error.code : -1), 8000);
                   v.currentTime = 2.0; })""")
        assert error == 0

        # Uploads: the last session uploads labels; they lie in its own folder until the session ends.
        pages[4].goto(f"{url}/?src=upload")
        uploaders = pages[4].locator("[data-testid='stSidebar'] input[type=file]")
        uploaders.nth(0).wait_for(state="attached", timeout=60_000)
        labels = root / names[0] / "Labels-v2.json"
        uploaders.nth(2).set_input_files(str(labels))
        uploads = temp / "spotting-studio" / "uploads"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list(uploads.glob("*/game-*/Labels-v2.json")):
            time.sleep(0.3)
        folders = [p.parents[1] for p in uploads.glob("*/game-*/Labels-v2.json")]
        assert len(folders) == 1, "the upload lies in one session folder"

        contexts[0].close()  # the first session ends: its video goes, the others' stay
        contexts[4].close()  # the uploading session ends: its folder goes
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            gone = pages[1].request.get(url + sources_[0]).status == 404
            if gone and not folders[0].exists():
                break
            time.sleep(0.5)
        assert pages[1].request.get(url + sources_[0]).status == 404, "an ended session's video is no longer served"
        assert not folders[0].exists(), "an ended session's uploads are removed"
        for page, src in zip(pages[1:4], sources_[1:4]):
            assert page.request.get(url + src, headers={"Range": "bytes=0-9"}).status == 206
        for context in contexts[1:4]:
            context.close()
