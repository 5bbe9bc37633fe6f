"""The player component's Python side (AppTest), its plotly.js route, and the app.py entry."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from spotting.ui import player

REPO = Path(__file__).resolve().parents[1]

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
        half_duration_s=10.0, event_times_s=events, start_time_s=1.5, seek_request=(3, 4.25), height_px=500,
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
    assert data["half_duration_s"] == 10.0 and data["height_px"] == 500 and data["notice"] is None
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


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_player_js_parses_as_one_module(tmp_path):
    app = AppTest.from_string("from spotting.ui.player import video_player_timeline\n"
                              "video_player_timeline(key='p', figure={}, video_url=None, half_duration_s=1.0, "
                              "event_times_s=[])").run()
    module = tmp_path / "player.mjs"
    module.write_text(mounted(app)[0].js_content)  # exactly what the browser imports
    result = subprocess.run(["node", "--check", str(module)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


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
        assert app.app.script_path.as_posix().endswith("spotting/ui/page.py")
        print("ok")
    ''')
    # A separate interpreter: constructing st.App pins process-wide Streamlit config.
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr
