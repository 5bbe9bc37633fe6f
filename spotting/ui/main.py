"""The app's entry script: the frame around both pages (``streamlit run app.py`` serves it).

Two pages under Streamlit's navigation: the game page at ``/`` (``page.py``) and the split explorer
at ``/split`` (``split_page.py``), each also runnable alone. State both share (threshold, δ, per-class
thresholds, SoccerNet root and split) is kept across page switches here, once per run.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by `streamlit run`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import streamlit as st

from spotting.ui import state

st.set_page_config(page_title="Action Spotting Studio", page_icon="⚽", layout="wide")
state.keep_widget_state()
state.restore_from_url()
pages = [st.Page("page.py", title="Game", icon=":material/sports_soccer:", default=True),
         st.Page("split_page.py", title="Split explorer", icon=":material/table_chart:", url_path="split")]
st.navigation(pages, position="top").run()
