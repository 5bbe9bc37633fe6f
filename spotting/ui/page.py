"""The Action Spotting Studio page: a game, its predictions on a timeline, live thresholds, metrics.

Run with ``streamlit run app.py`` (which runs this page behind the video and plotly.js routes the
player needs). Served directly (``streamlit run spotting/ui/page.py``) it falls back to plotly + st.video.
The page composes library calls only: sources → cached scores/candidates → thresholds → figures.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script by `streamlit run spotting/ui/page.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import streamlit as st

from spotting.errors import InputError
from spotting.soccernet import CLASS_INDEX, CLASSES, HALVES, NUM_CLASSES, Annotations
from spotting.ui import panels, sidebar, sources
from spotting.ui.panels import request_seek
from spotting.postprocess import apply_thresholds
from spotting.ui import state
from spotting.ui.events import SourceEvents, match, next_time
from spotting.ui.figures import MAX_CURVE_POINTS, Curve, Lane, timeline_figure
from spotting.ui import player
from spotting.ui.video import video_url_for

# The player (synchronised video + timeline) needs the routes app.py mounts (plotly.js, video files):
# `streamlit run spotting/ui/page.py` (argv[0] is then this file) gets plotly + st.video instead;
# STUDIO_PLAYER=off forces that fallback.
PLAYER_OFF = os.environ.get("STUDIO_PLAYER") == "off" or Path(sys.argv[0]).resolve() == Path(__file__).resolve()
video_player_timeline = None if PLAYER_OFF else player.video_player_timeline

TOLERANCES_S = state.TOLERANCES_S
DEFAULT_CURVES = 3
DEFAULT_THRESHOLD = state.DEFAULT_THRESHOLD
SIDEBAR_PX = 380  # wide enough for SoccerNet game names
VIDEO_PX = 420  # height of the player's video above the timeline
NOTICE_PX = 40  # height of the player's "no video" line in its place


def threshold_ui() -> tuple[float, dict[int, float], float, int]:
    """Global threshold, NMS window and match tolerance above the timeline; per-class overrides in an expander."""
    columns = st.columns([2.2, 2.2, 2.2])
    for key, default in (("threshold", DEFAULT_THRESHOLD), ("nms", 20.0), ("tolerance", 10)):
        st.session_state.setdefault(key, default)  # defaults via session state: a link may have set them
    threshold = columns[0].slider("Confidence threshold", 0.0, 1.0, step=0.01, key="threshold",
                                  help="Events below it are hidden, left out of metrics and exports.")
    nms = columns[1].slider("NMS window (s)", 2.0, 60.0, step=1.0, key="nms",
                            help="Model predictions: one event per class within this window. Loaded results "
                                 "files are drawn as they are.")
    tolerance = columns[2].select_slider("Match tolerance δ (s)", TOLERANCES_S, key="tolerance",
                                         help="A prediction matches a ground truth within ±δ/2 (SoccerNet). "
                                              "Average-mAP loose uses δ = 5…60 s, tight δ = 1…5 s.")
    class_thresholds = {}
    with st.expander("Per-class thresholds", expanded=False):  # a constant label keeps it open across reruns
        names = st.multiselect("Override the threshold of", CLASSES, key="override_classes")
        slots = st.columns(4)
        for position, name in enumerate(names):
            st.session_state.setdefault(f"thr::{name}", threshold)
            class_thresholds[CLASS_INDEX[name]] = slots[position % 4].slider(
                name, 0.0, 1.0, step=0.01, key=f"thr::{name}")
    if class_thresholds:
        st.caption("Per-class thresholds: " + ", ".join(f"{CLASSES[c]} {v:.2f}" for c, v in class_thresholds.items()))
    return threshold, class_thresholds, nms, int(tolerance)


def model_candidates(choice: sidebar.ModelChoice, data: sources.GameData, nms: float):
    """Run (or fetch from cache) the model → NMS candidates of all halves; returns (events, scores)."""
    checkpoint, mtime = str(choice.checkpoint), sources.stamp(choice.checkpoint)
    key = (checkpoint, mtime, data.game, data.feature_halves)
    if sources.has_scores(*key):
        scores = sources.game_scores(*key)
    else:
        placeholder = st.empty()
        bar = placeholder.progress(0.0, text=f"Running the {choice.name} on the features…")
        scores = sources.game_scores(*key, progress=lambda finished, total: bar.progress(
            min(1.0, finished / max(total, 1)), text=f"Running the {choice.name}… chunk {finished}/{total}"))
        placeholder.empty()
    return sources.detected_events(*key, nms), scores


def view_ui(data: sources.GameData, available_curves: bool) -> tuple[int, list[int], list[int]]:
    """Half, classes on the timeline and curves; a new game or half starts the player's clock at 0."""
    columns = st.columns([1.8, 3.0, 3.0])
    st.session_state.setdefault(state.HALF, 1)
    half = columns[0].segmented_control("Half", HALVES, key=state.HALF,
                                        format_func=lambda h: "1st half" if h == 1 else "2nd half") or 1
    # The time belongs to one game's half. The session's first view keeps it (a link's t is for the
    # game and half the link opens); any later change of game or half starts again at 0.
    owner = f"{Path(data.game.directory).resolve()}|{int(half)}"
    if st.session_state.get(state.TIME_OWNER) != owner:
        if state.TIME_OWNER in st.session_state:
            st.session_state[state.TIME_S] = 0.0
        st.session_state[state.TIME_OWNER] = owner
    lanes = columns[1].multiselect("Classes on the timeline", CLASSES, key="lane_classes",
                                   placeholder="All 17 classes")
    classes = [CLASS_INDEX[n] for n in lanes] or list(range(NUM_CLASSES))
    curves: list[int] = []
    if available_curves:
        picked = columns[2].multiselect("Segmentation curves", CLASSES, key="curve_classes",
                                        placeholder="Pick classes to see their curves", max_selections=8)
        curves = [CLASS_INDEX[n] for n in picked]
    else:
        columns[2].caption("Segmentation curves appear when a model runs on this game's features.")
    return int(half), classes, curves


def default_curves(candidates: Annotations) -> list[str]:
    """The classes with the strongest detections — what a first look at the curves should show."""
    if not len(candidates):
        return []
    best = np.zeros(NUM_CLASSES)
    np.maximum.at(best, candidates.class_index, candidates.confidence)
    return [CLASSES[c] for c in np.argsort(-best)[:DEFAULT_CURVES] if best[c] > 0]


def jump_ui(shown: list[SourceEvents], labels: Annotations | None, half: int, classes: list[int], now_s: float) -> None:
    """Next false alarm / next missed event of the first source, among the shown classes."""
    if labels is None or not shown or shown[0].matched is None:
        return
    primary = shown[0]
    allowed = np.isin(primary.events.class_index, classes) & (primary.events.half == half)
    false_alarms = primary.events.position_ms[allowed & ~primary.matched] / 1000.0
    missed_mask = (labels.half == half) & np.isin(labels.class_index, classes) & ~primary.label_matched
    missed = labels.position_ms[missed_mask] / 1000.0
    left, right, info = st.columns([1.3, 1.3, 3])
    for column, label, times in ((left, f"Next false alarm ({len(false_alarms)})", false_alarms),
                                 (right, f"Next missed event ({len(missed)})", missed)):
        if column.button(label, disabled=len(times) == 0, width="stretch"):
            target = next_time(times, now_s)
            if target is not None:
                request_seek(target)
    info.caption(f"Jumps use **{primary.name}** and the classes on the timeline; "
                 "a prediction matches within ±δ/2 of a ground truth.")


def draw_timeline(data: sources.GameData, half: int, figure: dict, shown: list[SourceEvents],
                  classes: list[int]) -> float:
    """The player component (video + timeline + playhead), else plotly + st.video; returns the current time."""
    duration = data.half_durations_s[half]
    try:
        video_url = video_url_for(data.game, half)
    except InputError as error:  # an unreadable video: the timeline and curves still work without it
        st.error(str(error), icon=":material/error:")
        video_url = None
    start_s = float(st.session_state.get(state.TIME_S, 0.0))
    if video_player_timeline is not None:
        # n / p and the "event i / N" counter: every event of the shown sources in the classes on the
        # timeline (two at the same time are two events, as in the counts and the table).
        times = sorted(float(t) for s in shown
                       for t in s.events.position_ms[(s.events.half == half) & np.isin(s.events.class_index, classes)]
                       / 1000.0)
        plot_px = int(figure["layout"]["height"])
        # The player stacks video, controls and plot; the plot keeps the figure's height, the video gets
        # the rest; without video a one-line notice takes its place.
        height = plot_px + (VIDEO_PX if video_url else NOTICE_PX) + 60
        playback = video_player_timeline(
            key="player", figure=figure, video_url=video_url, half_duration_s=duration, event_times_s=times,
            start_time_s=start_s, seek_request=st.session_state.get(state.SEEK), height_px=height,
            clock_id=st.session_state.get(state.TIME_OWNER, ""))
        st.session_state[state.TIME_S] = playback.current_time_s
        return playback.current_time_s
    event = st.plotly_chart(figure, key=f"timeline-{half}", on_select="rerun", selection_mode="points",
                            config={"scrollZoom": True, "displaylogo": False}, width="stretch")
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    if points:
        st.session_state[state.TIME_S] = start_s = float(points[0]["x"])
    video = data.game.video_path(half)
    if video is not None:
        st.video(str(video), start_time=int(start_s), format="video/webm" if video.suffix == ".webm" else "video/mp4")
    return start_s


def threshold_and_match(name: str, candidates: Annotations, labels: Annotations | None, threshold: float,
                        class_thresholds: dict[int, float], tolerance: int) -> SourceEvents:
    """A source's events above the thresholds, matched against the labels (TP/FP/FN) when there are labels."""
    kept = apply_thresholds(candidates, threshold, class_thresholds)
    try:
        matched, label_matched = match(labels, kept, tolerance)
    except InputError as error:
        st.error(str(error), icon=":material/error:")
        matched, label_matched = None, None
    return SourceEvents(name, kept, matched, label_matched, candidates)


def half_figure(data: sources.GameData, shown: list[SourceEvents], half: int, classes: list[int],
                curves: list[Curve]) -> dict:
    """The timeline figure of one half; missed labels are those the first source did not find."""
    labels = data.labels.for_half(half) if data.labels is not None else None
    primary = shown[0] if shown else None
    label_matched = (primary.label_matched[data.labels.half == half]
                     if primary is not None and primary.label_matched is not None else None)
    lanes = [Lane(s.name, s.events.for_half(half), None if s.matched is None else s.matched[s.events.half == half])
             for s in shown]
    return timeline_figure(half=half, half_duration_s=data.half_durations_s[half], classes=classes, labels=labels,
                           label_matched=label_matched, lanes=lanes, curves=curves,
                           primary_name=primary.name if primary else "")


def main() -> None:
    started = time.perf_counter()
    st.set_page_config(page_title="Action Spotting Studio", page_icon="⚽", layout="wide",
                       initial_sidebar_state=SIDEBAR_PX)
    state.restore_from_url()
    demo = sources.demo_assets()
    data, error = sidebar.game_ui(demo)
    st.markdown("### Action Spotting Studio")
    st.caption("SoccerNet-v2 action spotting: ground truth and predictions on one timeline, thresholds that "
               "apply live, and the official tolerance-based metrics.")
    if error:
        st.error(error, icon=":material/error:")
    if data is None:
        if not error:
            st.info("Pick a game in the sidebar: the demo, a SoccerNet folder or uploaded files.")
        return
    choices = sidebar.predictions_ui(data, demo)
    threshold, class_thresholds, nms, tolerance = threshold_ui()

    candidates: list[tuple[str, Annotations]] = []
    scores = None
    if choices.model is not None:
        try:
            model_events, scores = model_candidates(choices.model, data, nms)
            candidates.append((choices.model.name, model_events))
            st.sidebar.caption(f"**{choices.model.name}** ran on **{scores.device}** in {scores.seconds:.1f} s "
                               "(cached: thresholds never re-run it).")
        except InputError as error:
            choices.errors.append(error)
    candidates.extend(choices.results)
    for problem in choices.errors:
        st.error(str(problem), icon=":material/error:")
    for note in choices.notes:  # accepted as SoccerNet's evaluator accepts it, but the user should know
        st.warning(note, icon=":material/warning:")
    for note in choices.minor_notes:
        st.caption(f":material/info: {note}")

    shown = [threshold_and_match(name, events, data.labels, threshold, class_thresholds, tolerance)
             for name, events in candidates]
    if "curve_classes" not in st.session_state and scores is not None:
        st.session_state["curve_classes"] = default_curves(candidates[0][1])
    half, classes, curve_classes = view_ui(data, scores is not None and bool(data.feature_halves))
    panels.summary_ui(data, shown, half)
    curves = []
    if curve_classes and scores is not None and half in data.feature_halves:
        checkpoint = choices.model.checkpoint
        times, values = sources.display_curves(str(checkpoint), sources.stamp(checkpoint), data.game,
                                               data.feature_halves, half, MAX_CURVE_POINTS)
        curves = [Curve(c, times[c], values[c]) for c in curve_classes]
    figure = half_figure(data, shown, half, classes, curves)
    jump_ui(shown, data.labels, half, classes, float(st.session_state.get(state.TIME_S, 0.0)))
    now = draw_timeline(data, half, figure, shown, classes)
    if video_player_timeline is not None:
        panels.now_ui(now, shown, data.labels, half, curves)
    panels.details_ui(data, shown, half, classes, tolerance, threshold, class_thresholds)

    source_code = {sidebar.SOURCE_DEMO: "demo", sidebar.SOURCE_SOCCERNET: "soccernet",
                   sidebar.SOURCE_UPLOAD: "upload"}[st.session_state.get("source", sidebar.SOURCE_DEMO)]
    url = {"src": source_code, "half": str(half), "nms": f"{nms:g}",
           **state.shared_url(threshold, tolerance, class_thresholds)}
    if source_code == "soccernet":
        url.update(split=st.session_state.get(state.SN_SPLIT, "test"), game=data.game.name)
        picked = st.session_state.get(state.saved_key(data.game.name))
        if picked:
            url["pred"] = ",".join(picked)
    if now >= 1:
        url["t"] = str(int(now))
    state.mirror_to_url(url)
    if os.environ.get("STUDIO_TIMING"):  # benchmarks read this line from the server log
        print(f"studio: page run {1000 * (time.perf_counter() - started):.0f} ms, ended at {time.time():.2f}",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
