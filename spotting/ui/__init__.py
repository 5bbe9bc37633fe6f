"""The Streamlit front end: page layout (page.py), sources, figures and panels; the player lives in player/."""

from spotting.ui.warmup import start_warm_up

start_warm_up()  # a no-op outside `streamlit run` (tests, library use)
