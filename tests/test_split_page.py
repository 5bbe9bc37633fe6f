"""The split page (``spotting/ui/split_page.py``) under AppTest with the two real models of ../shared/data,
and in headless Chromium through the whole app: ``/split?split=test`` → both models' figures → a click on a
game row → the game page showing that game."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from spotting.analysis import per_game_average_map
from spotting.evaluate import load_evaluation_set
from spotting.metrics import average_map
from spotting.soccernet import game_title

ROOT = Path(__file__).resolve().parents[1]
SPLIT_PAGE = str(ROOT / "spotting" / "ui" / "split_page.py")
MAIN = str(ROOT / "spotting" / "ui" / "main.py")


@pytest.fixture()
def real(shared_data, monkeypatch):
    monkeypatch.setenv("SOCCERNET_DIR", str(shared_data / "soccernet"))
    monkeypatch.delenv("SOCCERNET_PREDICTIONS_DIR", raising=False)
    return shared_data


def split_app(**params) -> AppTest:
    app = AppTest.from_file(SPLIT_PAGE, default_timeout=120)
    app.query_params.update(params)
    app.run()
    assert not app.exception, app.exception
    return app


def overall(app: AppTest):
    return next(d.value for d in app.main.dataframe if "loose unsh." in d.value.columns).set_index("model")


def per_game(app: AppTest):
    return next(d.value for d in app.main.dataframe if "game" in d.value.columns and "link" in d.value.columns)


def test_overall_figures_of_both_real_models_equal_the_official_ones(real):
    app = split_app(split="test")
    assert not app.error, [e.value for e in app.error]
    table = overall(app)
    assert set(table.index) == {"netvlad_v2", "fusion_2021"}
    # SoccerNet 0.2.0 evaluate() on this material (tests/test_metrics.py and test_results_quirks.py check every
    # figure against it; here the page must show exactly what the library computes).
    for model, loose, tight in (("netvlad_v2", 31.401, 4.124), ("fusion_2021", 38.415, 9.835)):
        assert table.loc[model, "loose"] == pytest.approx(loose, abs=5e-3)
        assert table.loc[model, "tight"] == pytest.approx(tight, abs=5e-3)
        assert table.loc[model, "games"] == 100
    data = load_evaluation_set(real / "soccernet", real / "predictions" / "fusion_2021", split="test")
    exact = average_map(data.labels, data.predictions, metric="loose")
    assert table.loc["fusion_2021", "loose vis."] == pytest.approx(100 * exact.a_mAP_visible, abs=1e-9)
    assert table.loc["fusion_2021", "loose unsh."] == pytest.approx(100 * exact.a_mAP_unshown, abs=1e-9)


def test_per_game_table_is_worst_first_and_equals_each_game_alone(real):
    app = split_app(split="test")
    table = per_game(app)
    assert len(table) == 100
    loose = table["fusion_2021 loose"].to_numpy()
    assert np.all(np.diff(loose) >= 0)  # worst first by model A (the first saved set)
    data = load_evaluation_set(real / "soccernet", real / "predictions" / "fusion_2021", split="test")
    expected = dict(zip(data.games, 100 * per_game_average_map(data.labels, data.predictions, "loose").a_mAP))
    worst = table.iloc[0]
    name = next(g for g in data.games if game_title(g) == worst["game"])
    assert worst["fusion_2021 loose"] == pytest.approx(expected[name], abs=1e-9)
    assert worst[f"Δ loose (netvlad_v2 − fusion_2021)"] == pytest.approx(
        worst["netvlad_v2 loose"] - worst["fusion_2021 loose"], abs=1e-9)
    assert "split=test" in worst["link"] and "pred=fusion_2021%2Cnetvlad_v2" in worst["link"]


def test_threshold_and_tolerance_change_the_counts_not_the_average_map(real):
    app = split_app(split="test")
    before = overall(app)
    app.slider(key="threshold").set_value(0.6).run()
    after = overall(app)
    assert (after["TP"] < before["TP"]).all() and (after["FP"] < before["FP"]).all()
    assert (after["loose"] == before["loose"]).all()  # threshold-free
    app.select_slider(key="tolerance").set_value(60).run()
    wider = overall(app)
    assert (wider["TP"] > after["TP"]).all()
    assert app.query_params["thr"] == "0.60" and app.query_params["tol"] == "60"


def test_filters_and_the_link_keep_the_page_view(real):
    app = split_app(split="test", thr="0.45", tol="5")
    assert app.slider(key="threshold").value == 0.45
    app.text_input(key="split_text").input("Barcelona").run()
    table = per_game(app)
    assert 0 < len(table) < 100 and table["game"].str.contains("Barcelona").all()
    assert all("thr=0.45" in link and "tol=5" in link for link in table["link"])


def test_missing_and_corrupt_files_are_named_and_the_rest_still_works(real, tmp_path):
    data = load_evaluation_set(real / "soccernet", real / "predictions" / "netvlad_v2", split="test")
    partial = tmp_path / "partial_model"
    for name in data.games[:3]:
        (partial / name).mkdir(parents=True)
        shutil.copy(real / "predictions" / "netvlad_v2" / name / "results_spotting.json", partial / name)
    (partial / data.games[2] / "results_spotting.json").write_text('{"predictions": [')  # corrupt
    app = split_app(split="test")
    app.text_area(key="split_dirs").input(str(partial)).run()
    assert not app.exception
    assert any("evaluated on 2 of 100 games (97 without results, 1 unreadable)" in e.label for e in app.expander)
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and data.games[2] in errors[0] and "malformed JSON" in errors[0]
    table = overall(app)
    assert table.loc["partial_model", "games"] == 2 and table.loc["netvlad_v2", "games"] == 100
    row = table.loc["partial_model"]  # precision / recall over the games it is scored on, not the whole split
    assert row["R"] == pytest.approx(100 * row["TP"] / (row["TP"] + row["FN"]), abs=1e-9)
    assert row["P"] == pytest.approx(100 * row["TP"] / (row["TP"] + row["FP"]), abs=1e-9)
    games = per_game(app)
    unscored = games[games["partial_model loose"].isna()]
    assert len(unscored) == 98 and unscored["partial_model TP"].isna().all()  # blank, never a -1 placeholder
    app.checkbox(key="split_missing_empty").check().run()
    empty = overall(app).loc["partial_model"]
    assert empty["games"] == 99  # missing counted as empty; the corrupt one still not
    assert empty["FN"] > row["FN"] and empty["R"] < row["R"]  # their labels are all missed now


def test_both_pages_share_threshold_and_tolerance_through_the_entry(real):
    app = AppTest.from_file(MAIN, default_timeout=120)
    app.query_params.update(src="soccernet", split="test", thr="0.35", tol="5",
                            game="england_epl/2015-2016/2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea")
    app.run()
    assert not app.exception, app.exception
    assert app.slider(key="threshold").value == 0.35
    app.switch_page("split_page.py").run()
    assert not app.exception, app.exception
    assert app.slider(key="threshold").value == 0.35 and app.select_slider(key="tolerance").value == 5
    assert overall(app).shape[0] == 2


# ------------------------------------------------------------------------------------- in a browser

def wait_idle(page, quiet_s: float = 0.8, timeout_s: float = 60.0) -> None:
    """Until no script run is in progress (Streamlit's status widget gone) for ``quiet_s``."""
    deadline, quiet_since = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        if page.locator("[data-testid='stStatusWidget']").count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                return
        else:
            quiet_since = None
        time.sleep(0.1)


@pytest.mark.browser
def test_browser_split_page_row_click_opens_the_game(real):
    from browser_support import CHROMIUM, chromium_browser, streamlit_server

    if not CHROMIUM.exists():
        if os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} not found")
        pytest.skip(f"{CHROMIUM} not found")
    env = {"SOCCERNET_DIR": str(real / "soccernet")}
    with streamlit_server("app.py", env=env) as url, chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "/split?split=test")
        page.get_by_text("Average-mAP loose").nth(1).wait_for(timeout=90_000)
        wait_idle(page)
        text = page.locator("[data-testid='stMain']").inner_text()
        assert "fusion_2021 — Average-mAP loose 38.41 · tight 9.83" in text, text
        assert "netvlad_v2 — Average-mAP loose 31.40 · tight 4.12" in text, text
        summary = page.locator("[data-testid='stDataFrame']").first  # the overall table: FP/FN were cut off here
        wide, shown = summary.evaluate("e => [e.querySelector('.dvn-scroller').scrollWidth, "
                                       "e.querySelector('.dvn-scroller').clientWidth]")
        assert wide <= shown, f"the overall table needs {wide} px, has {shown}"
        games = page.locator("[data-testid='stDataFrame']").nth(1)
        games.scroll_into_view_if_needed()
        time.sleep(1.0)
        box = games.bounding_box()
        page.screenshot(path=str(ROOT / "test-artifacts" / "split-1366.png"))
        page.mouse.click(box["x"] + 16, box["y"] + 35 + 17)  # first row's selection box (worst game first)
        page.wait_for_url(lambda u: "/split" not in u and "game=" in u, timeout=60_000)
        page.get_by_text("ground-truth events").first.wait_for(timeout=90_000)
        wait_idle(page)
        caption = page.locator("[data-testid='stMain']").inner_text()
        assert "(" in caption and "half 1" in caption
        assert "fusion_2021" in caption and "netvlad_v2" in caption  # same prediction sets
        assert "thr=0.20" in page.url and "tol=10" in page.url
        page.screenshot(path=str(ROOT / "test-artifacts" / "split-to-game-1366.png"))
        assert not errors, errors


def test_a_checkpoint_runs_on_every_game_once_and_its_results_are_cached_outside_the_data(tmp_path, monkeypatch):
    import torch

    from spotting.checkpoint import save_checkpoint
    from spotting.model import CALF, ModelConfig
    from spotting.soccernet import CLASSES, format_game_time

    features = "ResNET_TF2_PCA512.npy"
    root = tmp_path / "soccernet"
    rng = np.random.default_rng(0)
    names = [f"league/2020-2021/2020-01-0{i} - 20-00 Home {i} - 0 Away" for i in (1, 2)]
    for name in names:
        game = root / name
        game.mkdir(parents=True)
        for half in (1, 2):
            np.save(game / f"{half}_{features}", rng.standard_normal((400, 512)).astype(np.float32))
        annotations = [{"gameTime": format_game_time(h, p), "label": CLASSES[c], "position": str(p),
                        "visibility": "visible"} for h, p, c in zip([1, 2] * 5, rng.integers(5_000, 190_000, 10),
                                                                      rng.integers(0, 17, 10))]
        (game / "Labels-v2.json").write_text(json.dumps({"annotations": annotations}))
    (root / names[1] / f"2_{features}").unlink()  # an incomplete download: skipped and said so
    torch.manual_seed(0)
    checkpoint = tmp_path / "mymodel.pt"
    save_checkpoint(checkpoint, CALF(ModelConfig(chunk_seconds=60.0, receptive_field_seconds=20.0, attention_ff=64)),
                    features=features)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SOCCERNET_DIR", str(root))
    monkeypatch.setenv("SOCCERNET_PREDICTIONS_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(cache))
    app = split_app(split="all folders")
    app.text_input(key="split_checkpoint").input(str(checkpoint)).run()
    assert not app.exception, app.exception
    written = sorted(cache.rglob("results_spotting.json"))
    assert len(written) == 1 and names[0] in written[0].as_posix()
    assert not any(p.name == "results_spotting.json" for p in root.rglob("*"))  # nothing in the user's data
    table = overall(app)
    assert table.loc["mymodel", "games"] == 1
    assert any("lack its features" in c.value for c in app.sidebar.caption)
    assert any("evaluated on 1 of 2 games (1 without results)" in e.label for e in app.expander)
    stamp = written[0].stat().st_mtime_ns
    app.slider(key="threshold").set_value(0.5).run()  # a rerun, and a second visit, do not spot again
    second = split_app(split="all folders")
    second.text_input(key="split_checkpoint").input(str(checkpoint)).run()
    assert written[0].stat().st_mtime_ns == stamp and overall(second).loc["mymodel", "games"] == 1


def test_model_b_is_never_model_a(real):
    app = split_app(split="test")
    app.selectbox(key="split_model_a").set_value(1).run()
    assert not app.exception
    assert app.selectbox(key="split_model_b").value == 0
    assert not any("−" in c and c.startswith("Δ") and c.split("(")[1].split(" − ")[0] == c.split(" − ")[1].rstrip(")")
                   for c in per_game(app).columns)


def test_a_split_without_any_results_says_so_instead_of_zeros(real):
    app = split_app(split="valid")  # the shared predictions cover the test split only
    assert not app.exception
    assert sum("no readable results file for any game" in w.value for w in app.warning) == 2
    assert not any("loose unsh." in d.value.columns for d in app.main.dataframe)


def test_a_link_keeps_typed_folders_and_filters(real, tmp_path):
    folder = tmp_path / "copy_model"
    name = "england_epl/2015-2016/2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea"
    (folder / name).mkdir(parents=True)
    shutil.copy(real / "predictions" / "netvlad_v2" / name / "results_spotting.json", folder / name)
    app = split_app(split="test")
    app.text_area(key="split_dirs").input(str(folder)).run()
    app.multiselect(key="split_leagues").set_value(["england_epl"]).run()
    app.text_input(key="split_text").input("Chelsea").run()
    link = dict(app.query_params)
    assert link["dirs"] == str(folder) and link["league"] == "england_epl" and link["q"] == "Chelsea"
    fresh = split_app(**{k: (v[0] if isinstance(v, list) else v) for k, v in link.items()}, season="nope")
    assert not fresh.exception
    assert "copy_model" in set(overall(fresh).index)
    table = per_game(fresh)
    assert len(table) > 0 and table["game"].str.contains("Chelsea").all() and (table["league"] == "england_epl").all()


def test_the_split_picker_speaks_the_commands_vocabulary(real, tmp_path):
    """#17: the picker offers what every command takes (official names, 'all', the root's sub-folders; a file
    listing game folders typed), a sub-folder or a file selects its games, and a name that is none of them
    falls back to the first choice with a note instead of an error."""
    app = split_app(split="england_epl")
    picker = app.sidebar.selectbox(key="sn_split")
    assert {"test", "valid", "train", "challenge", "all", "england_epl", "spain_laliga"} <= set(picker.options)
    games = per_game(app)["name"].tolist()
    assert games and all(name.startswith("england_epl/") for name in games)  # named from the root, as evaluate names them
    listed = tmp_path / "two.txt"
    listed.write_text("\n".join(games[:2]) + "\n")
    typed = split_app(split=str(listed))  # (AppTest cannot type a new option; a link gives the same value)
    assert sorted(per_game(typed)["name"]) == sorted(games[:2])
    unknown = split_app(split="no-such-league")
    assert unknown.sidebar.selectbox(key="sn_split").value == "test"
    assert any("unknown" in c.value or "neither a sub-folder" in c.value for c in unknown.sidebar.caption)
    assert split_app(split="all folders").sidebar.selectbox(key="sn_split").value == "all"  # links shared before #17


def test_an_unknown_split_in_a_link_lists_every_choice(real):
    """A fresh-user trial: /split?split=nonsense named only the first three sub-folders (the last three leagues
    looked missing). Every choice is named, or counted past the limit."""
    app = split_app(split="nonsense")
    note = next(c.value for c in app.sidebar.caption if "nonsense" in c.value)
    leagues = sorted(p.name for p in (real / "soccernet").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert {"germany_bundesliga", "italy_serie-a", "spain_laliga"} <= set(leagues)
    assert all(league in note for league in leagues), note


def test_choices_past_the_limit_are_counted_not_dropped():
    from spotting.selection import named_choices

    assert named_choices("abc") == "a, b, c"
    assert named_choices("abcde", limit=3) == "a, b, c … and 2 more"


def test_a_missing_typed_folder_is_named_without_a_command_line_flag(real):
    """The app has no flags: its fix text says what to check; the command still names its option."""
    from spotting.errors import InputError
    from spotting.evaluate import main as evaluate_main

    app = split_app(split="test")
    app.text_area(key="split_dirs").input("/nope/model").run()
    shown = [m.value for m in [*app.error, *app.warning, *app.caption, *app.sidebar.caption] if "/nope/model" in m.value]
    assert shown and all("predictions folder not found" in m and "--" not in m for m in shown), shown
    with pytest.raises(InputError, match="predictions folder not found — check --predictions-dir"):
        evaluate_main(["--soccernet-dir", str(real / "soccernet"), "--predictions-dir", "/nope/model"])


def test_unusual_files_are_summed_up_by_kind(real):
    """The notice said only '100 file(s) with unusual predictions': it now says which kinds, how many, in how
    many files (as the command's lines do), the files' own lines inside; gameTime-only oddities stay a caption."""
    app = split_app(split="test")
    expander = next(e for e in app.main.expander if "fusion_2021" in e.label and "unusual" in e.label)
    assert "66 predictions before the half's start, in 45 of 100 files" in expander.label
    assert "gameTime" not in expander.label
    assert len(expander.text[0].value.splitlines()) == 100
    quiet = [c.value for c in app.main.caption if "fusion_2021" in c.value and "gameTime" in c.value]
    assert len(quiet) == 1 and "disagreeing with half and position, in all 100 files" in quiet[0]
    assert not any("netvlad_v2" in e.label and "unusual" in e.label for e in app.main.expander)
