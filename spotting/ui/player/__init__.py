"""The synchronised video ↔ timeline player: an ``st.components.v2`` component.

One component holds the HTML5 ``<video>`` and the plotly timeline (drawn with Plotly.js inside the
component), so the playhead can follow playback frame by frame without a Streamlit rerun, clicks on
the plot seek the video, and the current time flows back to Python (on pause / seek, and at most
once a second while playing).

Reruns keep playback: the component is mounted with ``key=``, so Streamlit re-calls its JS with
the same DOM; the JS builds the video once and only updates the figure (``Plotly.react``) or the
``src`` when they change. Plotly.js itself (4.8 MB) is not sent with every rerun: ``app.py`` serves
plotly's bundled ``plotly.min.js`` from :func:`asset_routes` and the JS loads it once per page.

The front end is a few ES modules in this folder: ``player.js`` (the entry: DOM, video, clock,
reports), ``timeline.js`` (figure, playhead, click-to-seek), ``timing.js`` (pure time logic),
``layout.js`` (the video's size in the window), ``keys.js`` (shortcuts and who gets a key) and
``plotly_adapter.js`` (every use of Plotly's private fields). :mod:`.bundle` joins them into the one module Streamlit takes; node tests them as they are.

One clock: the page owns the time of a game's half and names that half with ``clock_id``; the
browser starts at ``start_time_s`` whenever ``clock_id`` changes and tags each report with it, and a
report tagged with another ``clock_id`` (the previous game's) is not taken for the current time.
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

from spotting.ui.player.bundle import bundle
from spotting.ui.state import PLAYER_SEEK_SEEN_PREFIX

_HERE = Path(__file__).resolve().parent
PLOTLY_URL = "/studio/assets/plotly.min.js"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
COMPONENT_NAME = "action_spotting_studio_player"

_player_component = st.components.v2.component(
    COMPONENT_NAME,
    css=(_HERE / "player.css").read_text(encoding="utf-8"),
    js=bundle(_HERE, "player.js"),  # the entry module and what it imports, as one module
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
    video_max_px: int = 640,
    notice: str | None = None,
    clock_id: str = "",
    video_offset_s: float | None = None,
) -> PlayerState:
    """Mount (or update in place) the player and return the browser's current playback state.

    - ``figure``: plotly figure dict whose x axis is seconds within the half, shared by all rows.
      Clicking anywhere in its plot area seeks there (a click near an event marker snaps to it).
    - ``video_url``: from :func:`spotting.ui.video.video_url_for`; ``None``: a one-line notice
      (``notice``, or a default) takes the video's place, Play is off, and clicks, keys and seek
      requests move the playhead.
    - ``event_times_s``: where next / previous event (buttons, keys n / p) jump and what the
      "event i / N" counter counts: one entry per event (repeats kept), not per distinct time.
    - ``clock_id``: names the game and half the time belongs to. On the first mount and whenever it
      changes, the player starts at ``start_time_s``; until the browser reports for this
      ``clock_id``, the returned time is ``start_time_s``.
    - ``seek_request=(counter, seconds)``: seeks once each time ``counter`` changes.
    - ``video_offset_s``: the half starts this many seconds into the video (a whole match, or a range
      of it): the player shows the video's window ``[offset, offset + half_duration_s]`` on the half's
      clock and pauses at its end. None: the video is the half.
    - The player is as tall as its content: the timeline keeps the figure's height, the video takes
      what the browser window leaves under the player (at most ``video_max_px``, at least 150 px;
      ``layout.js``), so video and timeline fit the window together.
    Keys: space, ← / → (±5 s, Shift ±30 s), , / . (±0.5 s), n / p, [ / ] (speed), ? (help). They reach
    the player unless a text field has the focus, or a control reached with Tab that uses the key.
    """
    data = {
        "key": key,
        "figure_json": _figure_json(figure),
        "video_url": video_url,
        "half_duration_s": float(half_duration_s),
        "event_times_s": sorted(float(t) for t in event_times_s),
        "clock_id": str(clock_id),
        "start_time_s": float(start_time_s),
        "seek_request": None if seek_request is None else [int(seek_request[0]), float(seek_request[1])],
        "video_max_px": int(video_max_px),
        "notice": notice,
        "plotly_url": PLOTLY_URL,
        "video_offset_s": None if video_offset_s is None else float(video_offset_s),
    }
    default = {"current_time_s": float(start_time_s), "paused": True}
    result = _player_component(
        key=key,
        data=data,
        default={"playback": default},
        height="content",
        on_playback_change=_ignore_change,
    )
    playback = getattr(result, "playback", None) or default
    if playback.get("clock_id") != str(clock_id):  # not yet reported for this game and half
        playback = default
    state = PlayerState(current_time_s=float(playback.get("current_time_s", start_time_s)),
                        paused=bool(playback.get("paused", True)))
    # A new seek request takes effect in the browser after this run; report its target already, so
    # the page's "now" panel does not show the old time for one run.
    seen_key = PLAYER_SEEK_SEEN_PREFIX + key
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
