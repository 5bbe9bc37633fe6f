"""Action Spotting Studio — start it with ``streamlit run app.py``.

``streamlit run`` finds the ``st.App`` object below and serves the page script through it, which
lets the app mount two routes of its own beside Streamlit's: the player's video files (HTTP Range
from disk, allow-listed) and plotly.js for the player. The pages live in
``spotting/ui/main.py`` (navigation), ``spotting/ui/page.py`` (the game, at ``/``) and
``spotting/ui/split_page.py`` (the split explorer, at ``/split``).
"""

import streamlit as st

from spotting.ui.player import asset_routes
from spotting.ui.video import video_routes
from spotting.ui.warmup import lifespan

# lifespan: the demo is scored while the first browser connects (spotting/ui/warmup.py).
app = st.App("spotting/ui/main.py", routes=[*video_routes(), *asset_routes()], lifespan=lifespan)
