"""The Streamlit front end: page layout (page.py), sources, figures and panels; the player lives in player/.

Importing it starts nothing: the demo's warm-up thread starts with the server (``app.py``'s lifespan).
"""
