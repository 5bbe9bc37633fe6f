"""The player component: its Python side (AppTest), its JS modules (node), the bundle Streamlit gets,
its plotly.js route, the app.py entry, and the game page's use of it (event list, one clock).

Node runs the JS tests (``tests/js/``); without node those tests skip, unless
``STUDIO_REQUIRE_BROWSER=1`` (CI), which makes a missing node a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from spotting.results import write_results
from spotting.soccernet import CLASS_INDEX, CLASSES, Annotations, format_game_time
from spotting.ui import player
from spotting.ui.figures import clock
from spotting.ui.player.bundle import bundle

REPO = Path(__file__).resolve().parents[1]
PLAYER_DIR = REPO / "spotting" / "ui" / "player"
JS_TESTS = REPO / "tests" / "js"
PAGE = str(REPO / "spotting" / "ui" / "page.py")


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
            pytest.fail("node is required (STUDIO_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("node is not installed")
    return node


def run_node_module(code: str, *args: str) -> str:
    """Run ``code`` as an ES module under node; returns its stdout."""
    result = subprocess.run([node_or_skip(), "--input-type=module", "-e", code, *args], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout

SCRIPT = textwrap.dedent('''
    import numpy as np
    import plotly.graph_objects as go
    import streamlit as st
    from spotting.ui.player import video_player_timeline

    threshold = st.slider("threshold", 0.0, 1.0, 0.5)
    times = np.arange(20) / 2.0
    figure = go.Figure(go.Scatter(x=times, y=np.linspace(0, 1, 20), mode="lines"))
    events = [t for t, c in ((7.0, 0.9), (2.0, 0.4), (5.5, 0.7)) if c >= threshold]
    figure.add_trace(go.Scatter(x=events, y=[0.5] * len(events), mode="markers"))
    as_dict = st.session_state.get("as_dict", False)
    state = video_player_timeline(
        key="player", figure=figure.to_plotly_json() if as_dict else figure, video_url=st.session_state.get("url"),
        half_duration_s=10.0, event_times_s=events, start_time_s=1.5, seek_request=(3, 4.25), video_max_px=500,
        notice=None if st.session_state.get("url") else "No video")
    st.session_state["state"] = state
''')


def mounted(at: AppTest) -> tuple[object, dict]:
    """The component's element proto and the data it was given."""
    elements = [e for e in at.main if e.type == "bidi_component"]
    assert len(elements) == 1
    proto = elements[0].proto
    return proto, json.loads(proto.json)


@pytest.fixture()
def app(tmp_path) -> AppTest:
    script = tmp_path / "page.py"
    script.write_text(SCRIPT)
    return AppTest.from_file(str(script), default_timeout=30)


def test_mounts_with_its_data_and_returns_the_default_state(app):
    app.session_state["url"] = "/studio/video/abc.webm"
    app.run()
    assert not app.exception
    proto, data = mounted(app)
    assert proto.component_name == player.COMPONENT_NAME
    assert not proto.isolate_styles  # plotly's styles live in the document
    assert "export default function" in proto.js_content and ".asp-cursor" in proto.css_content
    assert "Plotly.react" in proto.js_content and "plotly.min.js" not in proto.js_content[:200]
    assert len(proto.js_content) < 100_000, "plotly.js itself must not travel with every rerun"
    assert data["video_url"] == "/studio/video/abc.webm"
    assert data["event_times_s"] == [5.5, 7.0]  # sorted
    assert data["seek_request"] == [3, 4.25]
    assert data["half_duration_s"] == 10.0 and data["video_max_px"] == 500 and data["notice"] is None
    assert data["plotly_url"] == player.PLOTLY_URL
    figure = json.loads(data["figure_json"])
    assert [t["mode"] for t in figure["data"]] == ["lines", "markers"]
    # The new seek request is reported as the time at once; afterwards the browser's state counts.
    assert app.session_state["state"] == player.PlayerState(current_time_s=4.25, paused=True)
    app.run()
    assert app.session_state["state"] == player.PlayerState(current_time_s=1.5, paused=True)


def test_figure_as_dict_with_numpy_arrays_and_no_video(app):
    app.session_state["as_dict"] = True
    app.run()
    assert not app.exception
    _, data = mounted(app)
    assert data["video_url"] is None and data["notice"] == "No video"
    figure = json.loads(data["figure_json"])
    assert len(figure["data"]) == 2


def test_rerun_keeps_the_same_component_identity(app):
    """A new figure (threshold moved) must update the mounted player, not mount a new one (t = 0)."""
    app.run()
    first, data_before = mounted(app)
    app.slider[0].set_value(0.8).run()
    second, data_after = mounted(app)
    assert data_after["event_times_s"] == [7.0] != data_before["event_times_s"]
    assert data_after["figure_json"] != data_before["figure_json"]
    assert first.id == second.id


def test_plotly_route_serves_the_bundled_library():
    client = TestClient(Starlette(routes=player.asset_routes()))
    response = client.get(player.PLOTLY_URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert b"window.Plotly" in response.content[-2000:]
    assert len(response.content) == player.PLOTLY_JS.stat().st_size


def test_the_bundle_streamlit_gets_imports_under_node_with_a_default_function(tmp_path):
    """Exactly what the browser imports: one module, valid, no DOM touched at import time."""
    app = AppTest.from_string("from spotting.ui.player import video_player_timeline\n"
                              "video_player_timeline(key='p', figure={}, video_url=None, half_duration_s=1.0, "
                              "event_times_s=[])").run()
    module = tmp_path / "player.mjs"
    module.write_text(mounted(app)[0].js_content)
    assert run_node_module(f"const m = await import({json.dumps(module.as_uri())}); "
                           "console.log(typeof m.default);").strip() == "function"


def test_js_unit_tests_pass_under_node():
    """``node --test tests/js/``: the pure time logic (seek, clock, next / previous, counter) and the key rules."""
    node = node_or_skip()
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert len(files) >= 3, files
    result = subprocess.run([node, "--test", *files], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"^# fail 0$", result.stdout, re.M), result.stdout[-2000:]


def test_player_clock_agrees_with_the_pages_clock():
    """The player's clock text and the time it reports read as the page's ``clock`` of the same time
    (#14: the player said 15:59.0 while the "Now" line said 15:58)."""
    rng = np.random.default_rng(0)
    values = [0.0, 0.05, 0.95, 59.99, 60.0, 958.96, 958.9996, 959.0, 2839.999, 6000.5, -3.0, -0.4,
              *rng.uniform(0, 6000, 400).tolist(), *(np.arange(200) + 0.999).tolist()]
    timing = (PLAYER_DIR / "timing.js").as_uri()
    out = run_node_module(
        f"import {{ clockText, reportedTime }} from {json.dumps(timing)};\n"
        "const values = JSON.parse(process.argv[1]);\n"
        "console.log(JSON.stringify(values.map((t) => [clockText(t), clockText(t, { tenths: true }), reportedTime(t)])));",
        json.dumps(values))
    for t, (text, with_tenths, reported) in zip(values, json.loads(out), strict=True):
        assert text == clock(t), t
        assert with_tenths.startswith(clock(t) + "."), (t, with_tenths)
        assert clock(reported) == clock(t), (t, reported)  # what Python receives shows the same second


def test_plotly_private_fields_are_used_in_the_adapter_only():
    private = re.compile(r"_fullLayout|\._offset|\._length|\._size|\.l2p\(|\.p2l\(")
    users = sorted(p.name for p in PLAYER_DIR.glob("*.js") if private.search(p.read_text()))
    assert users == ["plotly_adapter.js"]
    adapter = (PLAYER_DIR / "plotly_adapter.js").read_text()
    for line_number, line in enumerate(adapter.splitlines(), 1):  # each use sits under a comment saying why
        if private.search(line) and not line.lstrip().startswith("//"):
            before = adapter.splitlines()[:line_number - 1]
            function_start = max(i for i, text in enumerate(before) if text.startswith("export function"))
            assert any("Private" in text for text in before[max(0, function_start - 12):function_start]), line


# ------------------------------------------------------------------------- the bundle step

def write_modules(folder: Path, **sources: str) -> Path:
    for name, text in sources.items():
        (folder / f"{name}.js").write_text(textwrap.dedent(text))
    return folder


def test_bundle_keeps_each_modules_names_private_and_evaluates_dependencies_first(tmp_path):
    write_modules(
        tmp_path,
        a="""
            import { B } from "./b.js";
            const secret = 1;
            export function a() { return secret + B; }
        """,
        b="""
            const secret = 10;
            export const B = secret;
            export const order = (globalThis.order = [...(globalThis.order || []), "b"]);
        """,
        entry="""
            import { a } from "./a.js";
            import { B as b, order } from "./b.js";
            const secret = 100;
            export default function () { return [a() + b + secret, order]; }
        """,
    )
    text = bundle(tmp_path, "entry.js")
    module = tmp_path / "bundle.mjs"
    module.write_text(text)
    out = run_node_module(f"const m = await import({json.dumps(module.as_uri())}); console.log(JSON.stringify(m.default()));")
    assert json.loads(out) == [121, ["b"]]  # each `secret` its own; b evaluated once


@pytest.mark.parametrize(("sources", "problem"), [
    ({"entry": 'import { nope } from "./a.js";\nexport default function () {}', "a": "export const yes = 1;"},
     "imports nope that a.js does not export"),
    ({"entry": 'import { x } from "./a.js";\nexport default function () {}',
      "a": 'import { y } from "./b.js";\nexport const x = 1;', "b": 'import { x } from "./a.js";\nexport const y = 2;'},
     "import cycle: a.js → b.js → a.js"),
    ({"entry": 'import { x } from "./missing.js";\nexport default function () {}'}, "missing.js not found"),
    ({"entry": "const x = 1;\nexport { x };\nexport default function () {}"}, "does not handle"),
    ({"entry": 'import * as a from "./a.js";\nexport default function () {}', "a": "export const x = 1;"},
     "does not handle"),
    ({"entry": 'import { x } from "./a.js";\nexport default function () {}', "a": "export default function () {}"},
     "only the entry module may have a default export"),
    ({"entry": "export function f() {}"}, "needs `export default function`"),
    ({"entry": "export const X = 1;\nexport default function () {}"}, "exports only its default function"),
])
def test_bundle_refuses_what_it_cannot_keep_faithful(tmp_path, sources, problem):
    write_modules(tmp_path, **sources)
    with pytest.raises(ValueError, match=re.escape(problem)):
        bundle(tmp_path, "entry.js")


def test_player_modules_import_only_what_they_use_from_each_other():
    """The real modules: every import is exported by its module (node checks it too) and each module is
    in the bundle once, dependencies first."""
    text = bundle(PLAYER_DIR, "player.js")
    heads = re.findall(r"^// -+ (\S+\.js)$", text, re.M)
    assert heads == ["timing.js", "keys.js", "plotly_adapter.js", "timeline.js", "layout.js", "player.js"]


def test_app_py_is_discovered_as_an_asgi_app_with_our_routes():
    """``streamlit run app.py`` runs app.py's st.App (with the video and plotly routes), not a plain script."""
    code = textwrap.dedent('''
        from pathlib import Path
        from streamlit.web.server.app_discovery import discover_asgi_app
        result = discover_asgi_app(Path("app.py"))
        assert result.is_asgi_app and result.import_string == "app:app", result
        import app
        paths = [route.path for route in app.app._user_routes]
        assert "/studio/video/{name}" in paths and "/studio/assets/plotly.min.js" in paths, paths
        assert app.app.script_path.as_posix().endswith("spotting/ui/main.py")
        print("ok")
    ''')
    # A separate interpreter: constructing st.App pins process-wide Streamlit config.
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr


def test_a_report_for_another_clock_is_not_taken_for_the_current_time():
    """The browser's last report belongs to the game and half it was made for (its ``clock_id``)."""
    app = AppTest.from_string(textwrap.dedent('''
        import streamlit as st
        from spotting.ui.player import video_player_timeline
        st.session_state["state"] = video_player_timeline(
            key="player", figure={}, video_url=None, half_duration_s=2700.0, event_times_s=[],
            start_time_s=st.session_state.get("start", 0.0), clock_id=st.session_state.get("clock", "A|1"))
    '''))
    app.session_state["start"] = 600.0
    app.run()
    assert app.session_state["state"].current_time_s == 600.0
    assert mounted(app)[1]["clock_id"] == "A|1"
    app.session_state["player"] = {"playback": {"current_time_s": 700.5, "paused": True, "clock_id": "A|1"}}
    app.run()
    assert app.session_state["state"].current_time_s == 700.5
    app.session_state["clock"], app.session_state["start"] = "B|1", 0.0
    app.run()  # the browser still holds game A's report
    assert app.session_state["state"].current_time_s == 0.0
    assert mounted(app)[1]["clock_id"] == "B|1"


# ------------------------------------------------------------------------- the game page's player

GAME_A = "league/2020-2021/2020-01-01 - 20-00 Home 1 - 0 Away"
GAME_B = "league/2020-2021/2020-02-02 - 20-00 Second 2 - 2 Other"
# Half 1 of each game (seconds, class): Goal and Corner at 700 s are two events at one time.
EVENTS_HALF_1 = [(100, "Goal"), (200, "Throw-in"), (300, "Corner"), (400, "Foul"), (650, "Throw-in"),
                 (700, "Goal"), (700, "Corner"), (900, "Throw-in")]
MODEL_B_HALF_1 = [(100, "Goal"), (300, "Corner"), (650, "Throw-in")]  # a second model: same times again


def write_games_without_video(root: Path) -> Path:
    """A SoccerNet root with two games (labels, no video, no features) and two saved prediction sets
    beside it under ``predictions/``; returns the SoccerNet root."""
    soccernet = root / "soccernet"
    for name in (GAME_A, GAME_B):
        folder = soccernet / name
        folder.mkdir(parents=True)
        labels = [*EVENTS_HALF_1, (1500, "Kick-off")]
        annotations = [{"gameTime": format_game_time(half, int(s * 1000)), "label": c, "position": str(int(s * 1000)),
                        "team": "home", "visibility": "visible"}
                       for half, events in ((1, labels), (2, labels[:3])) for s, c in events]
        (folder / "Labels-v2.json").write_text(json.dumps({"annotations": annotations}))
        for model, events in (("modelA", EVENTS_HALF_1), ("modelB", MODEL_B_HALF_1)):
            count = len(events)
            predictions = Annotations.from_lists(
                np.ones(count, int), np.array([int(s * 1000) for s, _ in events]),
                np.array([CLASS_INDEX[c] for _, c in events]), np.ones(count, bool), [""] * count,
                np.full(count, 0.9))
            write_results(root / "predictions" / model / name / "results_spotting.json", predictions, name)
    return soccernet


@pytest.fixture(scope="module")
def games_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("player-games")
    write_games_without_video(root)
    return root


@pytest.fixture()
def page(games_root, monkeypatch) -> AppTest:
    monkeypatch.setenv("SOCCERNET_DIR", str(games_root / "soccernet"))
    monkeypatch.setenv("SOCCERNET_PREDICTIONS_DIR", str(games_root / "predictions"))
    monkeypatch.setenv("STUDIO_DEMO_DIR", str(games_root / "no-demo"))  # no demo: the SoccerNet folder opens
    monkeypatch.delenv("STUDIO_DATA_ROOTS", raising=False)
    app = AppTest.from_file(PAGE, default_timeout=60)
    app.query_params.update({"src": "soccernet", "split": "all folders", "game": GAME_A})
    return app


def run_page(app: AppTest) -> dict:
    app.run()
    assert not app.exception, app.exception
    return mounted(app)[1]


def now_line(app: AppTest) -> str:
    return next(c.value for c in app.caption if c.value.startswith("**Now "))


def test_next_previous_and_the_counter_use_the_shown_classes_counted_as_events(page):
    """#14: with Goal and Corner on the timeline, n went to an undrawn Throw-in, and the counter
    counted distinct times of every class."""
    data = run_page(page)
    assert len(data["event_times_s"]) == len(EVENTS_HALF_1) + len(MODEL_B_HALF_1)  # every event, repeats kept
    page.pills(key="lane_classes").set_value(["Goal", "Corner"])
    data = run_page(page)
    shown = sorted(float(s) for events in (EVENTS_HALF_1, MODEL_B_HALF_1) for s, c in events if c in ("Goal", "Corner"))
    assert data["event_times_s"] == shown == [100.0, 100.0, 300.0, 300.0, 700.0, 700.0]


def test_a_link_time_is_the_players_start_and_the_now_line(page):
    """#14: after a link with t=600, the player started at 0:00 while "Now" said 10:00."""
    page.query_params["t"] = "600"
    data = run_page(page)
    assert data["start_time_s"] == 600.0 and data["video_url"] is None
    assert "**Now 10:00**" in now_line(page)
    assert data["clock_id"].endswith(f"{GAME_A}|1")  # the browser starts there (tests/test_browser.py)


def test_a_game_change_starts_the_clock_at_zero_whatever_the_browser_last_said(page):
    """#14: switching game carried the old time (the link's, or the last played) into the new game."""
    page.query_params["t"] = "600"
    data = run_page(page)
    page.session_state["player"] = {"playback": {"current_time_s": 700.5, "paused": True,
                                                 "clock_id": data.get("clock_id")}}
    run_page(page)
    assert "**Now 11:40**" in now_line(page)
    page.selectbox(key="sn_game").set_value(GAME_B)
    data = run_page(page)
    assert data["start_time_s"] == 0.0
    assert "**Now 00:00**" in now_line(page)
    assert "t" not in page.query_params
    assert data["clock_id"].endswith(f"{GAME_B}|1")


def test_a_half_change_starts_at_zero_but_a_link_to_the_second_half_keeps_its_time(page):
    """The time belongs to one half: a link's t holds for the half it names, a later change of half
    starts at 0."""
    page.query_params.update({"t": "600", "half": "2"})
    data = run_page(page)
    assert data["start_time_s"] == 600.0
    page.session_state["player"] = {"playback": {"current_time_s": 650.0, "paused": True,
                                                 "clock_id": data.get("clock_id")}}
    page.session_state["half"] = 1  # the user picks the 1st half
    data = run_page(page)
    assert data["start_time_s"] == 0.0
    assert "**Now 00:00**" in now_line(page)
    assert data["clock_id"].endswith(f"{GAME_A}|1")
