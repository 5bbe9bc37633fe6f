"""Every use of Streamlit's internals, in one place (as streamlit-webrtc's ``_compat.py`` does).

Streamlit's public API (``st.*``) is stable across releases; what lies under ``streamlit.runtime`` and
the page's DOM (``data-testid`` names, the main block's padding) is not. The rest of ``spotting.ui``
asks this module instead, so a Streamlit upgrade that moves one of them breaks here only. Each
function says what it uses and why no public call does the same (checked against Streamlit 1.67).
"""

from __future__ import annotations

import streamlit as st


def in_script_run() -> bool:
    """True while a Streamlit script run (a page, or AppTest) is executing in this thread.

    Internal: ``get_script_run_ctx`` is the only way to ask; ``st.*`` calls outside a run only warn.
    """
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    return get_script_run_ctx(suppress_warning=True) is not None


def runtime_exists() -> bool:
    """True once Streamlit's runtime (the owner of ``st.cache_*`` stores) exists in this process.

    Internal: ``streamlit.runtime.exists``; there is no public equivalent.
    """
    from streamlit import runtime

    return runtime.exists()


def real_server_running() -> bool:
    """True when a real Streamlit server runs in this process: not a script, a CLI or AppTest.

    Internal: ``streamlit.runtime.get_instance`` and the ``Runtime`` class (AppTest's stand-in runtime
    is a mock, not a ``Runtime``); ``st.context`` exists only inside a run and says nothing about it.
    """
    from streamlit import runtime
    from streamlit.runtime import Runtime

    return runtime.exists() and issubclass(type(runtime.get_instance()), Runtime)


def started_by_streamlit_run() -> bool:
    """True in a process that ``streamlit run`` started (its bootstrap module is loaded), before and after its
    runtime exists; False under pytest, AppTest and plain scripts.

    Internal: the module name ``streamlit.web.bootstrap``; no public call tells a server from a script.
    """
    import sys

    return "streamlit.web.bootstrap" in sys.modules


def server_address() -> str | None:
    """``server.address`` as the running server reads it (public: ``st.get_option``)."""
    return st.get_option("server.address")


# The main block's default padding (wide layout, Streamlit 1.67) is 6rem on top and 5rem on each
# side: at 1366 px wide beside the sidebar, 160 px of the page's width and ~40 px of its height
# that the game page needs for video, timeline and event list side by side. The top keeps room for
# Streamlit's header (3.75rem with the top navigation) so no widget slides under it (the header takes
# their clicks; tests/test_browser.py checks that the first row of controls gets them).
# Internal: the ``stMainBlockContainer`` test id; no public option sets the padding.
COMPACT_MAIN = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 4.5rem; padding-left: 1.5rem; padding-right: 1.5rem; }
</style>
"""


def compact_main_block() -> None:
    """Narrow the main block's padding for this page run (see :data:`COMPACT_MAIN`)."""
    st.html(COMPACT_MAIN)
