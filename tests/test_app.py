"""The Streamlit page under ``streamlit.testing.v1.AppTest`` on a small SoccerNet-style fixture.

The fixture: one game (random 512-d features, 5 minutes per half, a Labels-v2.json), a saved
``results_spotting.json`` under ``predictions/modelA/<game>/`` and, when the engine is installed, an
untrained checkpoint standing in for the demo model (``STUDIO_DEMO_*`` point the page at it).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from spotting import demo
from spotting.checkpoint import save_checkpoint
from spotting.model import CALF, ModelConfig
from spotting.metrics import average_map
from spotting.results import read_results, write_results
from spotting.soccernet import CLASSES, Annotations, format_game_time, read_labels

PAGE = str(Path(__file__).resolve().parents[1] / "spotting" / "ui" / "page.py")
GAME_NAME = "league/2020-2021/2020-01-01 - 20-00 Home 1 - 0 Away"
FEATURES = "ResNET_TF2_PCA512.npy"
FRAMES = 600  # 5 minutes at 2 fps


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("studio")
    game = root / "soccernet" / GAME_NAME
    game.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for half in (1, 2):
        np.save(game / f"{half}_{FEATURES}", rng.standard_normal((FRAMES, 512)).astype(np.float32))
    halves = np.array([1, 2] * 12)
    positions = rng.integers(5_000, FRAMES * 500 - 5_000, size=24)
    classes = rng.integers(0, 17, size=24)
    annotations = [{"gameTime": format_game_time(h, p), "label": CLASSES[c], "position": str(p), "team": "home",
                    "visibility": "visible" if i % 5 else "not shown"}
                   for i, (h, p, c) in enumerate(zip(halves, positions, classes))]
    (game / "Labels-v2.json").write_text(json.dumps({"annotations": annotations}))
    # Predictions: one near each label (confidence rising 0.05 → 0.95) and three far from any.
    predictions = Annotations.from_lists(
        np.r_[halves, 1, 2, 1], np.r_[positions + 2_000, 60_000, 90_000, 200_000], np.r_[classes, 0, 3, 5],
        np.ones(27, bool), [""] * 27, np.linspace(0.05, 0.95, 27))
    write_results(root / "predictions" / "modelA" / GAME_NAME / "results_spotting.json", predictions, GAME_NAME)
    write_results(root / "other" / "results_spotting.json", predictions.select(predictions.confidence > 0.5), GAME_NAME)
    torch.manual_seed(0)
    config = ModelConfig(chunk_seconds=60.0, receptive_field_seconds=20.0, attention_ff=64)
    model = CALF(config)
    with torch.no_grad():  # an untrained head gives nearly equal confidences: spread them so thresholds bite
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
        model.head_conf.weight.normal_(0.0, 0.05)
    save_checkpoint(root / "model.pt", model, features=FEATURES)
    return root


@pytest.fixture()
def app(fixture_root, monkeypatch) -> AppTest:
    monkeypatch.setenv("STUDIO_DEMO_DIR", str(fixture_root / "soccernet" / GAME_NAME))
    monkeypatch.setenv("STUDIO_DEMO_FEATURES", FEATURES)
    monkeypatch.setenv("STUDIO_DEMO_CHECKPOINT", str(fixture_root / "model.pt"))
    monkeypatch.setenv("SOCCERNET_DIR", str(fixture_root / "soccernet"))
    monkeypatch.delenv("SOCCERNET_PREDICTIONS_DIR", raising=False)
    return AppTest.from_file(PAGE, default_timeout=60)


def soccernet_game(app: AppTest) -> AppTest:
    app.session_state["source"] = "SoccerNet folder"
    app.session_state["sn_split"] = "all folders"
    return app


def run_clean(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    return app


def event_rows(app: AppTest):
    """The event table: predictions of the shown half."""
    return next(d.value for d in app.main.dataframe if "status" in d.value.columns)


def test_demo_game_loads_with_model_events(app, fixture_root):
    app.session_state["threshold"] = 0.0
    run_clean(app)
    table = event_rows(app)
    assert len(table) > 0 and set(table["source"]) == {"demo model"}
    assert any("ran on" in c.value and "cpu" in c.value for c in app.sidebar.caption)
    assert app.session_state["curve_classes"]  # curves of the strongest classes are preselected


def test_threshold_change_changes_event_count_without_rerunning_the_model(app, fixture_root):
    app.session_state["threshold"] = 0.0
    run_clean(app)
    table = event_rows(app)
    low = len(table)
    middle = round(float(table["confidence"].median()), 2) + 0.01  # an untrained model: confidences near 0.5
    from spotting.ui import scoring

    calls = []
    original = scoring._load_model
    scoring._load_model = lambda *a: calls.append(a) or original(*a)
    try:
        app.slider(key="threshold").set_value(middle)
        run_clean(app)
    finally:
        scoring._load_model = original
    high = len(event_rows(app))
    assert 0 < high < low
    assert calls == []  # scores came from the cache


def test_saved_results_are_found_and_thresholds_filter_them(app):
    soccernet_game(app)
    app.session_state["threshold"] = 0.0
    run_clean(app)
    table = event_rows(app)
    assert set(table["source"]) == {"modelA"}
    assert len(table) == 14  # 12 first-half predictions near labels + 2 far ones
    assert set(table["status"]) == {"✓ matched", "✗ false alarm"}
    app.slider(key="threshold").set_value(0.5)
    run_clean(app)
    kept = event_rows(app)
    assert 0 < len(kept) < len(table)
    assert (kept["confidence"] >= 0.5).all()
    assert app.query_params["thr"] == ["0.50"] or app.query_params["thr"] == "0.50"


def test_per_class_override_only_affects_its_class(app):
    soccernet_game(app)
    app.session_state["threshold"] = 0.0
    run_clean(app)
    before = event_rows(app)
    name = before["class"].value_counts().index[0]
    app.session_state["override_classes"] = [name]
    app.session_state[f"thr::{name}"] = 1.0
    run_clean(app)
    after = event_rows(app)
    assert name not in set(after["class"])
    assert len(after) == len(before) - int((before["class"] == name).sum())


def test_results_path_adds_a_parallel_lane(app, fixture_root):
    soccernet_game(app)
    app.session_state["results_paths"] = str(fixture_root / "other" / "results_spotting.json")
    run_clean(app)
    assert set(event_rows(app)["source"]) == {"modelA", "other"}
    app.session_state["details_tab"] = "Export"
    run_clean(app)
    assert not any("loose, classes present" in d.value.columns for d in app.dataframe)  # lazy tabs: only the open one runs
    app.session_state["details_tab"] = "Metrics"
    run_clean(app)
    official = next(d.value for d in app.dataframe if "loose, classes present" in d.value.columns)
    assert list(official["source"]) == ["modelA", "other"]
    # The official figure is SoccerNet's on every prediction of the file, whatever the display threshold.
    labels = read_labels(fixture_root / "soccernet" / GAME_NAME / "Labels-v2.json")
    for source, path in (("modelA", fixture_root / "predictions" / "modelA" / GAME_NAME / "results_spotting.json"),
                         ("other", fixture_root / "other" / "results_spotting.json")):
        expected = average_map([labels], [read_results(path)], metric="loose")
        row = official[official["source"] == source].iloc[0]
        assert row["loose"] == pytest.approx(expected.a_mAP, abs=1e-12)
        present = (expected.num_labels_visible + expected.num_labels_unshown) > 0
        assert present.sum() < 17  # the fixture lacks some classes: the two figures must differ
        assert row["loose, classes present"] == pytest.approx(expected.a_mAP_per_class[present].mean(), abs=1e-12)
        assert row["loose"] == pytest.approx(row["loose, classes present"] * present.sum() / 17, abs=1e-12)
    app.session_state["threshold"] = 0.9
    run_clean(app)
    again = next(d.value for d in app.dataframe if "loose, classes present" in d.value.columns)
    assert list(again["loose"]) == list(official["loose"])  # threshold-free
    assert any(f"{int(present.sum())} of 17 classes have ground truth" in c.value for c in app.main.caption)


def test_uploaded_results_file_shows_its_events(app, fixture_root):
    soccernet_game(app)
    data = (fixture_root / "other" / "results_spotting.json").read_bytes()
    run_clean(app)
    app.file_uploader(key="results_uploads").set_value(("mine.json", data, "application/json"))
    run_clean(app)
    table = event_rows(app)
    assert "mine" in set(table["source"])
    assert (table.loc[table["source"] == "mine", "confidence"] > 0.5).all()


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "malformed JSON"),
    (b'{"predictions": [{"label": "Goal"}]}', "prediction 0 is malformed"),
    (b'{"annotations": []}', "no 'predictions' list"),
])
def test_broken_results_upload_gives_an_error_naming_the_file(app, content, problem):
    soccernet_game(app)
    app.run()
    app.file_uploader(key="results_uploads").set_value(("broken_results.json", content, "application/json"))
    app.run()
    assert not app.exception
    messages = [e.value for e in app.error]
    assert any("broken_results.json" in m and problem in m for m in messages), messages
    assert set(event_rows(app)["source"]) == {"modelA"}  # the good source still shows


def test_missing_results_path_and_bad_checkpoint_give_errors(app, fixture_root):
    app.session_state["results_paths"] = str(fixture_root / "nowhere" / "results_spotting.json")
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(fixture_root / "soccernet" / GAME_NAME / "Labels-v2.json")
    app.session_state["run_model"] = True
    app.run()
    assert not app.exception
    messages = " | ".join(e.value for e in app.error)
    assert "nowhere/results_spotting.json: file not found" in messages
    assert "Labels-v2.json: not a readable PyTorch checkpoint" in messages


def test_broken_feature_upload_names_the_file(app):
    app.session_state["source"] = "Upload files"
    app.run()
    app.file_uploader(key="up_f1").set_value(("1_features.npy", b"not an npy file", "application/octet-stream"))
    app.run()
    assert not app.exception
    assert any("1_features.npy" in e.value and "not a readable .npy" in e.value for e in app.error)


def test_next_false_alarm_requests_a_seek(app):
    soccernet_game(app)
    app.session_state["threshold"] = 0.0
    run_clean(app)
    table = event_rows(app)
    first_false_alarm = table.loc[table["status"] == "✗ false alarm", "seconds"].min()
    app.selectbox(key="event_filter").set_value("fa:modelA")
    run_clean(app)
    assert set(event_rows(app)["status"]) == {"✗ false alarm"}  # the table shows what the filter keeps
    app.button(key="jump-next").click()
    run_clean(app)
    counter, seconds = app.session_state["_seek"]
    assert counter == 1 and seconds == pytest.approx(first_false_alarm)


def test_link_reopens_thresholds_and_half(app):
    soccernet_game(app)
    app.query_params["thr"] = "0.7"
    app.query_params["half"] = "2"
    app.query_params["cls"] = "Goal:0.25"
    app.query_params["src"] = "soccernet"
    run_clean(app)
    assert app.slider(key="threshold").value == pytest.approx(0.7)
    assert app.session_state["half"] == 2
    assert app.session_state["thr::Goal"] == pytest.approx(0.25)
    assert (event_rows(app)["confidence"] >= 0.25).all()


def test_without_labels_the_metrics_panel_explains(app, fixture_root, tmp_path):
    game = tmp_path / "soccernet" / "x" / "y" / "nolabels"
    game.mkdir(parents=True)
    np.save(game / f"1_{FEATURES}", np.zeros((100, 512), np.float32))
    np.save(game / f"2_{FEATURES}", np.zeros((100, 512), np.float32))
    app.session_state["source"] = "SoccerNet folder"
    app.session_state["sn_root"] = str(tmp_path / "soccernet")
    app.session_state["sn_split"] = "all folders"
    app.session_state["run_model"] = False
    app.session_state["results_paths"] = str(fixture_root / "other" / "results_spotting.json")
    run_clean(app)
    assert set(event_rows(app)["status"]) == {"—"}  # nothing to match against
    app.session_state["details_tab"] = "Metrics"
    run_clean(app)
    assert any("no Labels-v2.json" in i.value for i in app.info)


def test_results_lanes_are_named_after_the_model_folder(fixture_root):
    from spotting.ui.sources import results_name

    assert results_name(Path(f"/preds/netvlad_v2/{GAME_NAME}/results_spotting.json"), GAME_NAME) == "netvlad_v2"
    assert results_name(Path("/runs/calf/results_spotting.json"), GAME_NAME) == "calf"
    assert results_name(Path("/tmp/my_preds.json"), GAME_NAME) == "my_preds"
    # #14: a results file in the game's own folder was named after the data root ("soccernet")
    root = fixture_root / "soccernet"
    assert results_name(root / GAME_NAME / "results_spotting.json", GAME_NAME) == "game folder"
    assert results_name(Path("/models/netvlad_v2_results_spotting_test.zip"), GAME_NAME) == "netvlad_v2"
    assert results_name(Path("/models/calf/results_spotting_test.zip"), GAME_NAME) == "calf"  # the DevKit's layout
    assert results_name(Path("/preds/netvlad_v2"), GAME_NAME) == "netvlad_v2"  # a model folder


def test_embedded_demo_opens_with_model_events(monkeypatch):
    """The real front door: no overrides, the committed demo game and model."""
    assert demo.demo_game().has_features() and demo.demo_checkpoint().is_file()
    for name in ("STUDIO_DEMO_DIR", "STUDIO_DEMO_CHECKPOINT", "STUDIO_DEMO_FEATURES"):
        monkeypatch.delenv(name, raising=False)
    app = AppTest.from_file(PAGE, default_timeout=120)
    run_clean(app)
    table = event_rows(app)
    assert len(table) > 0 and set(table["source"]) == {"demo model"}
    assert (table["confidence"] >= app.slider(key="threshold").value).all()


SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_GAME = "england_epl/2015-2016/2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea"


def test_real_test_game_with_netvlad_predictions(monkeypatch):
    if not (SHARED_DATA / "soccernet" / REAL_GAME / "Labels-v2.json").is_file():
        pytest.skip("../shared/data is not available")
    monkeypatch.setenv("SOCCERNET_DIR", str(SHARED_DATA / "soccernet"))
    monkeypatch.delenv("SOCCERNET_PREDICTIONS_DIR", raising=False)
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.query_params.update(src="soccernet", split="test", game=REAL_GAME, half="2", thr="0.5")
    run_clean(app)
    table = event_rows(app)
    # Both real models of ../shared/data: fusion_2021's file holds a prediction at -1000 ms in this half,
    # which SoccerNet's evaluator accepts; it is listed at its real time and the file is named in a warning.
    assert set(table["source"]) == {"netvlad_v2", "fusion_2021"} and len(table) > 100
    assert "✓ matched" in set(table["status"])
    early = table[table["time"].str.startswith("-")]
    assert list(early["source"]) == ["fusion_2021"] and list(early["time"]) == ["-00:01"]
    warnings = [w.value for w in app.warning if "before the half's start" in w.value]
    assert len(warnings) == 1 and "fusion_2021" in warnings[0] and "1 prediction before" in warnings[0]
    summary = next(c.value for c in app.main.caption if "ground-truth events" in c.value)
    assert "half 2 · 46:47 long" in summary  # the half length comes from games.json (2807.04 s)


def test_uploaded_features_and_labels_make_a_game_the_model_runs_on(app, fixture_root):
    game = fixture_root / "soccernet" / GAME_NAME
    app.session_state["source"] = "Upload files"
    app.run()
    app.file_uploader(key="up_f1").set_value(("1_mine.npy", (game / f"1_{FEATURES}").read_bytes(), "application/octet-stream"))
    app.file_uploader(key="up_labels").set_value(("Labels-v2.json", (game / "Labels-v2.json").read_bytes(), "application/json"))
    app.session_state["run_model_game"] = True
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(fixture_root / "model.pt")
    app.session_state["threshold"] = 0.0
    run_clean(app)
    table = event_rows(app)
    assert len(table) > 0 and set(table["source"]) == {"model"}
    assert any("Uploaded game" in c.value for c in app.main.caption)


# ------------------------------------------------------------------ #14: the rest of the game page's issues

def copy_game(fixture_root: Path, root: Path, extra_features: tuple[str, ...] = ()) -> Path:
    """The fixture game (features, labels) under a new SoccerNet root; ``extra_features`` other 1_/2_ files."""
    source = fixture_root / "soccernet" / GAME_NAME
    game = root / GAME_NAME
    game.mkdir(parents=True)
    for half in (1, 2):
        (game / f"{half}_{FEATURES}").write_bytes((source / f"{half}_{FEATURES}").read_bytes())
        for index, name in enumerate(extra_features):
            rng = np.random.default_rng(10 + index)
            np.save(game / f"{half}_{name}", rng.standard_normal((FRAMES, 512)).astype(np.float32))
    (game / "Labels-v2.json").write_text((source / "Labels-v2.json").read_text())
    return game


def open_root(app: AppTest, root: Path) -> AppTest:
    app.session_state["source"] = "SoccerNet folder"
    app.session_state["sn_root"] = str(root)
    app.session_state["sn_split"] = "all folders"
    return app


def player_data(app: AppTest) -> dict:
    element = next(e for e in app.main if e.type == "bidi_component")
    return json.loads(element.proto.json)


def test_a_link_reopens_the_whole_view(app, fixture_root):
    """#14 bug 8: a shared link restored threshold, half, per-class thresholds and time, but not the curves, the
    timeline's classes, the open tab, the results paths or the model run."""
    other = str(fixture_root / "other" / "results_spotting.json")
    lanes = [CLASSES[0], CLASSES[3], CLASSES[5]]  # the classes of modelA's three false alarms
    app.query_params.update({"src": "soccernet", "split": "all folders", "game": GAME_NAME, "thr": "0",
                             "classes": ",".join([*lanes, "Nope"]), "curves": "Goal,Throw-in", "tab": "export",
                             "show": "fa:modelA", "model": str(fixture_root / "model.pt"), "pred": "modelA"})
    app.query_params["res"] = [other]
    run_clean(app)
    assert app.session_state["lane_classes"] == lanes  # the unknown class is left out, with a notice
    assert any("Nope" in note for note in app.session_state["_url_notes"])
    assert app.session_state["curve_classes"] == ["Goal", "Throw-in"]
    assert app.session_state["details_tab"] == "Export"
    assert app.session_state["event_filter"] == "fa:modelA"
    assert app.session_state["results_paths"] == other and app.session_state["run_model_game"]
    table = event_rows(app)
    assert len(table) == 2 and set(table["status"]) == {"✗ false alarm"} and set(table["source"]) == {"modelA"}
    figure = json.loads(player_data(app)["figure_json"])
    assert figure["layout"]["yaxis"]["ticktext"] == lanes
    assert [t["name"] for t in figure["data"] if t["mode"] == "lines"] == ["Goal", "Throw-in"]  # the model's curves
    assert any("model" == t["name"] for t in figure["data"]) and any("other" == t["name"] for t in figure["data"])


def test_the_url_holds_the_whole_view(app, fixture_root):
    """#14 bug 8, the other way: what a user changes on the page goes into the URL (through spotting.ui.state)."""
    soccernet_game(app)
    app.session_state["results_paths"] = str(fixture_root / "other" / "results_spotting.json")
    run_clean(app)
    app.pills(key="lane_classes").set_value(["Goal", "Foul"])
    app.selectbox(key="event_filter").set_value("vs:modelA|other")
    app.session_state["details_tab"] = "Export"
    run_clean(app)
    params = {k: app.query_params[k] for k in app.query_params}
    value = lambda k: params[k][0] if isinstance(params[k], list) else params[k]  # noqa: E731
    assert value("classes") == "Goal,Foul" and value("show") == "vs:modelA|other" and value("tab") == "export"
    assert value("res") == str(fixture_root / "other" / "results_spotting.json")
    assert value("pred") == "modelA" and value("game") == GAME_NAME
    # and that URL opens the same view in a new session
    again = AppTest.from_file(PAGE, default_timeout=60)
    again.query_params.update({k: value(k) for k in params})
    run_clean(again)
    assert list(event_rows(again)["source"].unique()) == list(event_rows(app)["source"].unique())
    assert again.session_state["event_filter"] == "vs:modelA|other"


def test_features_are_picked_from_the_files_of_the_game_folder(app, fixture_root, tmp_path):
    """#14: the features were a text field one had to know the name for."""
    copy_game(fixture_root, tmp_path / "sn", extra_features=("baidu_soccer_embeddings.npy",))
    open_root(app, tmp_path / "sn")
    app.session_state["run_model_game"] = True
    app.session_state["ckpt_mode"] = "Checkpoint path"
    app.session_state["ckpt_path"] = str(fixture_root / "model.pt")
    app.session_state["threshold"] = 0.0
    run_clean(app)
    picker = app.selectbox(key="sn_features")
    assert picker.options == [FEATURES, "baidu_soccer_embeddings.npy"] and picker.value == FEATURES
    first = event_rows(app)
    picker.set_value("baidu_soccer_embeddings.npy")
    run_clean(app)
    other = event_rows(app)
    assert not first[["seconds", "class"]].equals(other[["seconds", "class"]])  # the model ran on the other files
    assert app.query_params["feat"] in ("baidu_soccer_embeddings.npy", ["baidu_soccer_embeddings.npy"])


def test_results_next_to_the_game_in_folders_and_zips_are_found_and_named_after_the_model(app, fixture_root,
                                                                                          tmp_path):
    """#14: results in the game folder were not found (and a typed one was named after the data root);
    a model folder or a zip as SoccerNet's baselines write it could not be given."""
    game = copy_game(fixture_root, tmp_path / "sn")
    predictions = read_results(fixture_root / "other" / "results_spotting.json")
    write_results(game / "results_spotting.json", predictions, GAME_NAME)
    write_results(tmp_path / "models" / "calf" / GAME_NAME / "results_spotting.json", predictions, GAME_NAME)
    archive = tmp_path / "models" / "netvlad_results_spotting_test.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(tmp_path / "models" / "calf" / GAME_NAME / "results_spotting.json",
                     f"{GAME_NAME}/results_spotting.json")
    open_root(app, tmp_path / "sn")
    app.session_state["results_paths"] = f"{tmp_path / 'models' / 'calf'}\n{archive}"
    run_clean(app)
    assert app.multiselect(key=f"saved::{GAME_NAME}").options == ["game folder"]
    sources = event_rows(app)["source"]
    assert set(sources) == {"game folder", "calf", "netvlad"}
    assert (sources == "calf").sum() == (sources == "netvlad").sum() == (sources == "game folder").sum() > 0
    app.session_state["results_paths"] = str(tmp_path / "models")  # a folder without this game
    app.run()
    assert f"no {GAME_NAME}/results_spotting.json in this folder" in " ".join(e.value for e in app.error)


def test_downloads_carry_the_games_name_and_the_csv_can_list_misses(app, monkeypatch):
    """#14: downloads were all called results_spotting.json / events.csv; the CSV had no missed ground truth."""
    from streamlit.delta_generator import DeltaGenerator

    made = {}
    original = DeltaGenerator.download_button

    def record(self, label, data, file_name=None, **kwargs):
        made[file_name] = data
        return original(self, label, data, file_name=file_name, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    soccernet_game(app)
    app.session_state["details_tab"] = "Export"
    run_clean(app)
    stem = GAME_NAME.rsplit("/", 1)[1]
    assert set(made) == {f"{stem}_results_spotting.json", f"{stem}_events.csv"}
    assert "missed" not in made[f"{stem}_events.csv"]().decode()
    app.toggle(key="csv_missed").set_value(True)
    run_clean(app)
    rows = pd.read_csv(io.BytesIO(made[f"{stem}_events.csv"]()))
    assert (rows["status"] == "missed").sum() > 0 and rows.loc[rows["status"] == "missed", "confidence"].isna().all()


def test_without_the_player_a_refused_video_is_not_played(app, fixture_root, tmp_path, monkeypatch):
    """#14: `streamlit run spotting/ui/page.py` called st.video on the file video_url_for had refused."""
    monkeypatch.setenv("STUDIO_PLAYER", "off")
    game = copy_game(fixture_root, tmp_path / "sn")
    (game / "1_224p.mp4").symlink_to(game / "Labels-v2.json")  # not a video
    open_root(app, tmp_path / "sn")
    app.run()
    assert not app.exception, app.exception
    assert any("1_224p.mp4: not an MP4 video" in e.value for e in app.error)
    assert not app.get("video"), "st.video got the file that was refused"
    assert app.get("plotly_chart")  # the timeline is still drawn


def test_counts_follow_plural_rules(app):
    """#14: "1 false alarms"."""
    soccernet_game(app)
    app.session_state["threshold"] = 0.0
    app.session_state["half"] = 2
    run_clean(app)
    summary = next(c.value for c in app.main.caption if "ground-truth events" in c.value)
    assert "1 false alarm," in summary and "1 false alarms" not in summary


def test_next_miss_moves_on_to_the_other_half(app):
    """#14: the jumps stopped at the end of a half."""
    soccernet_game(app)
    app.session_state["threshold"] = 0.6  # modelA misses the labels whose predictions are below 0.6
    run_clean(app)
    app.selectbox(key="event_filter").set_value("miss:modelA")
    run_clean(app)
    app.session_state["_time_s"] = 10_000.0  # after every miss of the first half
    app.button(key="jump-next").click()
    run_clean(app)
    assert app.session_state["half"] == 2
    counter, seconds = app.session_state["_seek"]
    missed = event_rows(app)
    assert seconds == pytest.approx(missed["seconds"].min()) and set(missed["source"]) == {"ground truth"}
    assert player_data(app)["clock_id"].endswith("|2") and player_data(app)["start_time_s"] == pytest.approx(seconds)


# ------------------------------------------------------------------ #19: the app's state, caches and Streamlit internals

UI = Path(__file__).resolve().parents[1] / "spotting" / "ui"
GAME_PAGE_MODULES = ("page.py", "sidebar.py", "panels.py", "sources.py", "scoring.py", "uploads.py", "events.py",
                     "figures.py", "player/__init__.py", "your_video.py", "video_features.py", "split_page.py",
                     "split_panels.py", "split_sources.py")


@pytest.mark.parametrize("module", GAME_PAGE_MODULES)
def test_every_session_and_url_key_is_spelled_in_state_only(module):
    """#19: bare key strings across modules ("_seek", "run_model", "ckpt_mode", "details_tab", ...)."""
    import re

    text = (UI / module).read_text()
    bare = re.findall(r"""(?:key=f?["']|session_state(?:\.get|\.setdefault)?\(?\[?["']|query_params(?:\.get)?\(?\[?["'])"""
                      r"""[^"']*""", text)
    assert bare == [], f"{module} spells keys itself: {bare}"


def test_streamlit_internals_are_touched_in_compat_only():
    """#19: streamlit.runtime, script-run contexts and the DOM's test ids, each in spotting/ui/compat.py, commented."""
    import re

    internal = re.compile(r"streamlit\.runtime|from streamlit import (?:config|runtime)|get_script_run_ctx|"
                          r"data-testid|streamlit\.web|st\._|\._(?:main|dg|get_)")
    users = sorted(str(p.relative_to(UI)) for p in UI.rglob("*.py") if internal.search(p.read_text()))
    assert users == ["compat.py"], users
    import ast

    source = (UI / "compat.py").read_text()
    lines = source.splitlines()
    for node in ast.parse(source).body[1:]:  # every statement after the module docstring
        text = ast.get_source_segment(source, node)
        docstring = ast.get_docstring(node) if isinstance(node, ast.FunctionDef) else None
        if docstring:
            text = text.replace(docstring, "")
        if internal.search(text):  # a use: its docstring, or the comment above it, says why
            above = "\n".join(lines[max(0, node.lineno - 12):node.lineno - 1])
            assert "Internal:" in (docstring or "") or "Internal:" in above, f"compat.py:{node.lineno}: {text[:80]}"


@pytest.mark.parametrize("module", ("page.py", "sidebar.py", "panels.py", "your_video.py"))
def test_the_page_builds_no_cache_key(module):
    """#19: page.model_candidates built (checkpoint, mtime, game, halves) itself and the sidebar passed a game's
    file stamps to load_game; the cache layer (sources, scoring, uploads) owns its keys."""
    import re

    text = (UI / module).read_text()
    for inside in (r"stamps?\(", r"mtime", r"has_scores", r"(?<![a-z])_key\(", r"detected_events\(", r"load_model\("):
        assert not re.search(inside, text), inside


def test_importing_the_app_inside_a_streamlit_server_starts_no_thread():
    """#19: ``import spotting.ui`` started the demo's warm-up thread (inside a server); it starts with the
    server now (app.py's lifespan), not on import."""
    import subprocess
    import sys

    code = ("import threading, streamlit.web.bootstrap; before = threading.active_count(); "
            "import spotting.ui, spotting.ui.player, spotting.ui.sources, app; "
            "print(threading.active_count() - before)")
    done = subprocess.run([sys.executable, "-c", code], cwd=UI.parents[1], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "STUDIO_WARMUP": "1"})
    assert done.stdout.strip().splitlines()[-1:] == ["0"], done.stdout + done.stderr[-2000:]


def test_the_model_s_own_nms_windows_are_the_default_and_a_number_overrides_them(app, fixture_root, monkeypatch,
                                                                                 tmp_path):
    """#19: calibration saves each class's NMS window in the checkpoint; the page used one slider window for
    every class and never those. Default now: the model's own (and said so); a number: one window for all."""
    from dataclasses import replace

    from spotting.checkpoint import load_checkpoint
    from spotting.infer import score_game
    from spotting.postprocess import SpottingConfig, detect_events
    from spotting.soccernet import game_at

    loaded = load_checkpoint(fixture_root / "model.pt", "cpu")
    own = SpottingConfig(nms_window_s=4.0, class_nms_windows_s={CLASSES.index("Goal"): 60.0})
    path = save_checkpoint(tmp_path / "own.pt", loaded.model, FEATURES, postprocessing=own.to_dict())
    monkeypatch.setenv("STUDIO_DEMO_CHECKPOINT", str(path))
    scores = score_game(loaded, game_at(fixture_root / "soccernet" / GAME_NAME, features=FEATURES))
    expected = {w: int((detect_events(scores, s).half == 1).sum())
                for w, s in (("own", own), (20.0, replace(own, nms_window_s=20.0, class_nms_windows_s=())))}
    assert expected["own"] != expected[20.0]
    app.session_state["threshold"] = 0.0
    run_clean(app)
    assert app.session_state["nms"] == "own" and app.query_params["nms"] in ("own", ["own"])
    assert len(event_rows(app)) == expected["own"]
    caption = next(c for c in app.main.caption if c.value == "hard NMS, 4–60 s by class")  # under the control
    assert caption.help == "hard NMS: 4 s for 16 classes; Goal 60 s"
    app.select_slider(key="nms").set_value(20.0)
    run_clean(app)
    assert len(event_rows(app)) == expected[20.0] and app.query_params["nms"] in ("20", ["20"])
