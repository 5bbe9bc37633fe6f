"""The Streamlit front end: page layout (page.py), sources, figures and panels; the player lives in player/."""
