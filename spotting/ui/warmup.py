"""Score the demo game while the browser is still loading, so the first page shows predictions sooner.

``streamlit run app.py`` imports this package at server start (app.py imports the player), but the
page script first runs only when a browser connects, ~2–4 s later. Most of the demo's first paint
is importing torch and running the model (~5 s on 2 busy cores), so a background thread does that
work at server start and leaves the result in the same caches the page reads.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time

_LOGGER = logging.getLogger(__name__)


def in_streamlit_server() -> bool:
    """True inside ``streamlit run`` (its bootstrap module is loaded); False under pytest and AppTest."""
    return "streamlit.web.bootstrap" in sys.modules


def start_warm_up() -> threading.Thread | None:
    """Start scoring the demo in a daemon thread (only in a Streamlit server; ``STUDIO_WARMUP=0`` turns it off)."""
    if os.environ.get("STUDIO_WARMUP", "1") == "0" or not in_streamlit_server():
        return None
    thread = threading.Thread(target=warm_demo, name="studio-warm-up", daemon=True)
    thread.start()
    return thread


def warm_demo() -> None:
    from streamlit import runtime

    deadline = time.monotonic() + 10.0
    while not runtime.exists() and time.monotonic() < deadline:  # caches belong to the server's runtime
        time.sleep(0.05)
    try:
        from spotting.soccernet import HALVES
        from spotting.ui import sources

        demo = sources.demo_assets()
        if demo.game is None or demo.checkpoint is None:
            return
        halves = tuple(h for h in HALVES if demo.game.features_path(h).is_file())  # = GameData.feature_halves
        started = time.perf_counter()
        sources.game_scores(str(demo.checkpoint), sources.stamp(demo.checkpoint), demo.game, halves)
        _LOGGER.info("demo scored at server start in %.1f s", time.perf_counter() - started)
    except Exception as error:  # the page reports problems itself, with the file and the fix
        _LOGGER.warning("demo warm-up skipped: %s", error)
