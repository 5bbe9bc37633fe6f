"""Score the demo game while the browser is still loading, so the first page shows predictions sooner.

The page script first runs only when a browser connects, ~2–4 s after ``streamlit run app.py``
starts. Most of the demo's first paint is importing torch and running the model (~5 s on 2 busy
cores), so a background thread does that work at server start and leaves the result in the same
caches the page reads. It starts from ``app.py``'s lifespan hook (:func:`lifespan`), when the server
starts: importing any module of the app starts no thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import asynccontextmanager

_LOGGER = logging.getLogger(__name__)


def in_streamlit_server() -> bool:
    """True inside ``streamlit run``; False under pytest and AppTest."""
    from spotting.ui.compat import started_by_streamlit_run

    return started_by_streamlit_run()


def start_warm_up() -> threading.Thread | None:
    """Start scoring the demo in a daemon thread (only in a Streamlit server; ``STUDIO_WARMUP=0`` turns it off)."""
    if os.environ.get("STUDIO_WARMUP", "1") == "0" or not in_streamlit_server():
        return None
    thread = threading.Thread(target=warm_demo, name="studio-warm-up", daemon=True)
    thread.start()
    return thread


@asynccontextmanager
async def lifespan(app):
    """``st.App(lifespan=...)``: start the warm-up with the server; nothing to stop (a daemon thread)."""
    start_warm_up()
    yield None


def warm_demo() -> None:
    from spotting.ui.compat import runtime_exists

    deadline = time.monotonic() + 10.0
    while not runtime_exists() and time.monotonic() < deadline:  # caches belong to the server's runtime
        time.sleep(0.05)
    try:
        # The pages' own imports first (pandas, plotly, the split page's analysis: ~1 s on 2 cores), so the first
        # visit of either page does not pay for them.
        import pandas  # noqa: F401
        import plotly.graph_objects  # noqa: F401

        from spotting.ui import split_figures, split_sources  # noqa: F401
        from spotting.soccernet import HALVES
        from spotting.ui import scoring, sources

        demo = sources.demo_assets()
        if demo.game is None or demo.checkpoint is None:
            return
        halves = tuple(h for h in HALVES if demo.game.features_path(h).is_file())  # = GameData.feature_halves
        started = time.perf_counter()
        scoring.game_scores(demo.checkpoint, demo.game, halves)
        _LOGGER.info("demo scored at server start in %.1f s", time.perf_counter() - started)
    except Exception as error:  # the page reports problems itself, with the file and the fix
        _LOGGER.warning("demo warm-up skipped: %s", error)
