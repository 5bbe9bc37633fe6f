"""The synchronised video ↔ timeline player: an ``st.components.v2`` component.

One component holds the HTML5 ``<video>`` and the plotly timeline (drawn with Plotly.js inside the
component), so the playhead can follow playback frame by frame without a Streamlit rerun, clicks on
the plot seek the video, and the current time flows back to Python (on pause / seek, and at most
once a second while playing).

Reruns keep playback: the component is mounted with ``key=``, so Streamlit re-calls its JS with
the same DOM; the JS builds the video once and only updates the figure (``Plotly.react``) or the
``src`` when they change. Plotly.js itself (4.8 MB) is not sent with every rerun: ``app.py`` serves
plotly's bundled ``plotly.min.js`` from :func:`asset_routes` and the JS loads it once per page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import streamlit as st
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

_HERE = Path(__file__).resolve().parent
PLOTLY_URL = "/studio/assets/plotly.min.js"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
COMPONENT_NAME = "action_spotting_studio_player"

_player_component = st.components.v2.component(
    COMPONENT_NAME,
    css=(_HERE / "player.css").read_text(encoding="utf-8"),
    # One ES module from two files: player.js (DOM, clock, keys, the default export) and
    # timeline.js (plotly, playhead, click-to-seek); function declarations are hoisted.
    js="\n".join((_HERE / name).read_text(encoding="utf-8") for name in ("player.js", "timeline.js")),
    isolate_styles=False,  # plotly injects its styles into the document; a shadow root would hide them
)


@dataclass(frozen=True)
class PlayerState:
    """What the browser last reported: the playhead (seconds within the half) and play/pause."""

    current_time_s: float
    paused: bool


def _figure_json(figure: Any) -> str:
    """JSON of a plotly figure (dict or ``go.Figure``); numpy arrays become plotly's typed arrays."""
    if hasattr(figure, "to_plotly_json"):
        figure = figure.to_plotly_json()
    return pio.to_json(figure, validate=False, remove_uids=False)


def _ignore_change() -> None:
    """Streamlit requires a callback per state key; the value is read from the return instead."""


def video_player_timeline(
    *,
    key: str,
    figure: dict,
    video_url: str | None,
    half_duration_s: float,
    event_times_s: list[float],
    start_time_s: float = 0.0,
    seek_request: tuple[int, float] | None = None,
    height_px: int = 720,
    notice: str | None = None,
) -> PlayerState:
    """Mount (or update in place) the player and return the browser's current playback state.

    - ``figure``: plotly figure dict whose x axis is seconds within the half, shared by all rows.
      Clicking anywhere in its plot area seeks there (a click near an event marker snaps to it).
    - ``video_url``: from :func:`spotting.ui.video.video_url_for`; ``None`` keeps the timeline and
      a click-driven cursor, with ``notice`` shown.
    - ``event_times_s``: where next / previous event (buttons, keys n / p) jump.
    - ``start_time_s``: where a newly loaded video starts (a remount in the same tab resumes instead).
    - ``seek_request=(counter, seconds)``: seeks once each time ``counter`` changes.
    Keys: space, ← / → (±5 s, Shift ±30 s), , / . (±0.5 s), n / p, [ / ] (speed), ? (help).
    """
    data = {
        "key": key,
        "figure_json": _figure_json(figure),
        "video_url": video_url,
        "half_duration_s": float(half_duration_s),
        "event_times_s": sorted(float(t) for t in event_times_s),
        "start_time_s": float(start_time_s),
        "seek_request": None if seek_request is None else [int(seek_request[0]), float(seek_request[1])],
        "height_px": int(height_px),
        "notice": notice,
        "plotly_url": PLOTLY_URL,
    }
    default = {"current_time_s": float(start_time_s), "paused": True}
    result = _player_component(
        key=key,
        data=data,
        default={"playback": default},
        height=int(height_px),
        on_playback_change=_ignore_change,
    )
    playback = getattr(result, "playback", None) or default
    state = PlayerState(current_time_s=float(playback.get("current_time_s", start_time_s)),
                        paused=bool(playback.get("paused", True)))
    # A new seek request takes effect in the browser after this run; report its target already, so
    # the page's "now" panel does not show the old time for one run.
    seen_key = f"_player_seek_seen::{key}"
    if seek_request is not None and st.session_state.get(seen_key) != int(seek_request[0]):
        st.session_state[seen_key] = int(seek_request[0])
        state = PlayerState(current_time_s=float(seek_request[1]), paused=state.paused)
    return state


async def _serve_plotly(request: Request) -> Response:
    return FileResponse(PLOTLY_JS, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})


def asset_routes() -> list[Route]:
    """Routes ``app.py`` mounts: plotly.js for the player, loaded once per browser page."""
    return [Route(PLOTLY_URL, _serve_plotly, methods=["GET", "HEAD"])]
