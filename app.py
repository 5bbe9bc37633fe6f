"""Action Spotting Studio — start it with ``streamlit run app.py``.

``streamlit run`` finds the ``st.App`` object below and serves the page script through it, which
lets the app mount two routes of its own beside Streamlit's: the player's video files (HTTP Range
from disk, allow-listed) and plotly.js for the player. The page itself lives in
``spotting/ui/page.py``.
"""

import streamlit as st

from spotting.ui.player import asset_routes
from spotting.ui.video import video_routes

app = st.App("spotting/ui/page.py", routes=[*video_routes(), *asset_routes()])
