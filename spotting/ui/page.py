"""The Action Spotting Studio page: a game, its predictions on a timeline, live thresholds, metrics.

Run with ``streamlit run app.py`` (which runs this page behind the video and plotly.js routes the
player needs). Served directly (``streamlit run spotting/ui/page.py``) it falls back to plotly + st.video.
The page composes library calls only: sources → cached scores/candidates → thresholds → figures.

Layout (it fits a 1366×768 window): the player (video, controls, timeline) on the left; beside it the
controls that change what it shows, the jumps, the "now" line and the event list, so a click on a
row seeks a video that is on the screen; metrics and exports under both.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script by `streamlit run spotting/ui/page.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import streamlit as st

from spotting.errors import InputError
from spotting.postprocess import apply_thresholds, describe_suppression
from spotting.soccernet import HALVES, Annotations
from spotting.specs import Specifications
from spotting.ui import compat, panels, player, scoring, sidebar, sources, state
from spotting.ui.task import task_problem
from spotting.ui.events import (ALL, FilteredEvents, SourceEvents, apply_filter, event_filters, jump_targets,
                                label_status, match)
from spotting.ui.figures import MAX_CURVE_POINTS, Curve, Lane, timeline_figure
from spotting.ui.video import video_url_for

# The player (synchronised video + timeline) needs the routes app.py mounts (plotly.js, video files):
# `streamlit run spotting/ui/page.py` (argv[0] is then this file) gets plotly + st.video instead;
# STUDIO_PLAYER=off forces that fallback.
PLAYER_OFF = os.environ.get("STUDIO_PLAYER") == "off" or Path(sys.argv[0]).resolve() == Path(__file__).resolve()
video_player_timeline = None if PLAYER_OFF else player.video_player_timeline

DEFAULT_CURVES = 1  # the strongest class's curve: more rows would push the timeline under a laptop's fold
MAX_CURVES = 8
SIDEBAR_PX = 360  # a SoccerNet game's title ("Manchester City 3 - 0 Chelsea (2015-08-16)") fits
COLUMNS = (0.6, 0.4)  # player | what changes it and the event list
TABLE_PX = 330  # the event list's height beside the player


def thresholds_ui(has_model: bool, spec: Specifications | None = None,
                  own_nms: tuple[str, str] | None = None) -> tuple[float, float | None, int]:
    """Confidence threshold, NMS window (None: the model's own, per class, described under the control by
    ``own_nms`` = (one short line, the whole in its tooltip); reset to it for a new class set) and match
    tolerance (values also kept in session state)."""
    if spec is not None and st.session_state.get(state.NMS_TASK) not in (spec.name, state.URL_TASK):
        st.session_state[state.NMS] = state.NMS_OWN
    if spec is not None:
        st.session_state[state.NMS_TASK] = spec.name
    for key, default in ((state.THRESHOLD, state.DEFAULT_THRESHOLD), (state.NMS, state.NMS_OWN),
                         (state.TOLERANCE, state.DEFAULT_TOLERANCE)):
        st.session_state.setdefault(key, default)  # defaults via session state: a link may have set them
    threshold = st.slider("Confidence threshold", 0.0, 1.0, step=0.01, key=state.THRESHOLD,
                          help="Events below it are hidden, left out of the metrics at this threshold and of exports.")
    left, right = st.columns(2)
    nms = left.select_slider("NMS window", state.NMS_CHOICES, key=state.NMS, disabled=not has_model,
                             format_func=lambda v: "model's own" if v == state.NMS_OWN else f"{v:g} s",
                             help="A model's predictions: one event per class within this window. The model's own: "
                                  "each class's window as calibrated on validation games and saved in the checkpoint "
                                  "(without: its task's, 20 s for SoccerNet-v2, 2 s for Ball Action); a number: the "
                                  "same window for every class. Results files are drawn as they are.")
    if has_model and nms == state.NMS_OWN and own_nms:
        left.caption(own_nms[0], help=own_nms[1])  # one line: the event list beside it must stay on screen
    tolerance = right.select_slider("Match tolerance δ (s)", state.TOLERANCES_S, key=state.TOLERANCE,
                                    help="A prediction matches a ground truth within ±δ/2 (SoccerNet). "
                                         "Average-mAP loose uses δ = 5…60 s, tight δ = 1…5 s.")
    return float(threshold), None if nms == state.NMS_OWN else float(nms), int(tolerance)


def _known(key: str, classes: tuple[str, ...]) -> list[str]:
    """The names kept under ``key`` that are classes of this game's set (another set's are dropped)."""
    kept = [n for n in st.session_state.get(key) or [] if n in classes]
    if key in st.session_state and kept != list(st.session_state[key] or []):
        st.session_state[key] = kept
    return kept


def class_thresholds_ui(threshold: float, classes: tuple[str, ...]) -> dict[int, float]:
    """Per-class overrides of the threshold (classes of the game's set), in a popover saying how many."""
    _known(state.OVERRIDE_CLASSES, classes)
    count = len(state.class_thresholds(classes))
    with st.popover(f"Per-class thresholds ({count})" if count else "Per-class thresholds", width="stretch"):
        names = st.multiselect("Override the threshold of", classes, key=state.OVERRIDE_CLASSES)
        for name in names:
            st.session_state.setdefault(state.class_threshold_key(name), threshold)
            st.slider(name, 0.0, 1.0, step=0.01, key=state.class_threshold_key(name))
    return state.class_thresholds(classes)


def half_ui(data: sources.GameData) -> int:
    """The half; a new game or half starts the player's clock at 0 (a link's ``t`` holds for its half)."""
    st.session_state.setdefault(state.HALF, 1)
    half = st.segmented_control("Half", HALVES, key=state.HALF, label_visibility="collapsed", width="stretch",
                                wrap=True, format_func=lambda h: "1st half" if h == 1 else "2nd half") or 1
    # The time belongs to one game's half. The session's first view keeps it (a link's t is for the
    # game and half the link opens); any later change of game or half starts again at 0.
    owner = time_owner(data, int(half))
    if st.session_state.get(state.TIME_OWNER) != owner:
        if state.TIME_OWNER in st.session_state:
            st.session_state[state.TIME_S] = 0.0
        st.session_state[state.TIME_OWNER] = owner
    return int(half)


def time_owner(data: sources.GameData, half: int) -> str:
    """The player's ``clock_id``: the game and half the time in ``state.TIME_S`` belongs to."""
    return f"{Path(data.game.directory).resolve()}|{int(half)}"


def classes_and_curves_ui(available_curves: bool, spec: Specifications) -> tuple[list[int], list[int]]:
    """Classes on the timeline (one lane each, of the game's class set) and segmentation curves, each
    picked in a popover (chips that wrap, never cut)."""
    left, right = st.columns(2)
    names, index, count = spec.classes, spec.class_index, spec.num_classes
    chosen = _known(state.LANE_CLASSES, names)
    with left.popover(f"Classes ({len(chosen)} of {count})" if chosen else f"Classes (all {count})",
                      width="stretch"):
        lanes = st.pills("Classes on the timeline (none picked: all)", names, selection_mode="multi",
                         key=state.LANE_CLASSES, wrap=True) or []
    classes = [index[n] for n in lanes] or list(range(count))
    if not available_curves:
        right.caption("Curves need a model run on this game's features.")
        return classes, []
    picked = _known(state.CURVE_CLASSES, names)
    with right.popover(f"Curves ({len(picked)})", width="stretch"):
        picked = st.pills(f"Segmentation curves (at most {MAX_CURVES})", names, selection_mode="multi",
                          key=state.CURVE_CLASSES, wrap=True) or []
    return classes, [index[n] for n in picked[:MAX_CURVES]]


def default_curves(candidates: Annotations, classes: tuple[str, ...]) -> list[str]:
    """The classes with the strongest detections — what a first look at the curves should show."""
    if not len(candidates):
        return []
    best = np.zeros(len(classes))
    np.maximum.at(best, candidates.class_index, candidates.confidence)
    return [classes[c] for c in np.argsort(-best)[:DEFAULT_CURVES] if best[c] > 0]


def filter_ui(shown: list[SourceEvents], labels: Annotations | None, classes: list[int], data: sources.GameData,
              half: int) -> FilteredEvents:
    """Which events the table, the timeline and n / p show, and ‹ / › through them across both halves."""
    filters = event_filters([s.name for s in shown], labels is not None and any(s.matched is not None for s in shown))
    codes = [f.code for f in filters]
    if st.session_state.get(state.EVENT_FILTER) not in codes:
        wanted = st.session_state.get(state.EVENT_FILTER)
        if wanted and wanted != ALL:
            st.caption(f":material/info: The filter `{str(wanted)[:60].replace('`', '')}` does not apply to these "
                       "predictions: showing all events.")
        st.session_state[state.EVENT_FILTER] = ALL
    labels_of = {f.code: f.label for f in filters}
    choice, back, forward = st.columns([0.54, 0.23, 0.23], vertical_alignment="bottom")
    code = choice.selectbox("Show", codes, key=state.EVENT_FILTER, format_func=labels_of.__getitem__,
                            label_visibility="collapsed", disabled=len(codes) == 1)
    kept = apply_filter(code, shown, labels)
    targets = jump_targets(shown, labels, kept, classes)
    owners = {h: time_owner(data, h) for h in HALVES}
    for column, label, direction, what in ((back, "‹ Prev", -1, "Previous"), (forward, "Next ›", +1, "Next")):
        column.button(label, key=state.jump_key(direction), width="stretch", disabled=not targets,
                      help=f"{what} of the {len(targets)} shown ({labels_of[code].lower()}), both halves",
                      on_click=panels.jump, args=(targets, direction, owners))
    return kept


def threshold_and_match(name: str, candidates: Annotations, labels: Annotations | None, threshold: float,
                        class_thresholds: dict[int, float], tolerance: int, spec: Specifications | None = None
                        ) -> SourceEvents:
    """A source's events above the thresholds, matched against the labels (TP/FP/FN, on the class set's
    evaluation grid) when there are labels."""
    kept = apply_thresholds(candidates, threshold, class_thresholds)
    grid = {} if spec is None else {"framerate": spec.framerate, "num_classes": spec.num_classes}
    try:
        matched, label_matched, prediction_label = match(labels, kept, tolerance, **grid)
    except InputError as error:
        st.error(str(error), icon=":material/error:")
        matched, label_matched, prediction_label = None, None, None
    return SourceEvents(name, kept, matched, label_matched, candidates, prediction_label)


def half_figure(data: sources.GameData, shown: list[SourceEvents], kept: FilteredEvents, half: int,
                classes: list[int], curves: list[Curve]) -> dict:
    """The timeline figure of one half: what the filter keeps; each source with the ground truth it missed."""
    labels = data.labels
    in_half = None if labels is None else labels.half == half
    lanes = []
    for source, predictions, missed in zip(shown, kept.predictions, kept.missed):
        mask = (source.events.half == half) & predictions
        lanes.append(Lane(source.name, source.events.select(mask),
                          None if source.matched is None else source.matched[mask],
                          None if missed is None or labels is None else labels.select(missed & in_half)))
    gt = status = None
    if labels is not None:
        chosen = in_half & (kept.labels if kept.labels is not None else True)
        gt, status = labels.select(chosen), label_status(shown, labels)[chosen]
    return timeline_figure(half=half, half_duration_s=data.half_durations_s[half], classes=classes, labels=gt,
                           label_status=status, lanes=lanes, curves=curves, class_names=data.spec.classes)


def draw_player(data: sources.GameData, half: int, figure: dict, shown: list[SourceEvents], kept: FilteredEvents,
                classes: list[int]) -> float:
    """The player component (video + timeline + playhead), else plotly + st.video; returns the current time."""
    duration = data.half_durations_s[half]
    try:
        video_url = video_url_for(data.game, half)
    except InputError as error:  # an unreadable video: the timeline and curves still work without it
        st.error(str(error), icon=":material/error:")
        video_url = None
    start_s = float(st.session_state.get(state.TIME_S, 0.0))
    offset = dict(data.video_offsets).get(half)  # the half is a window of a longer video (your video's range)
    if video_player_timeline is not None:
        # n / p and the "event i / N" counter: the events the filter keeps in this half and the classes on
        # the timeline (two at the same time are two events, as in the counts and the table).
        times = [t for h, t in jump_targets(shown, data.labels, kept, classes) if h == half]
        playback = video_player_timeline(
            key=state.PLAYER, figure=figure, video_url=video_url, half_duration_s=duration, event_times_s=times,
            start_time_s=start_s, seek_request=st.session_state.get(state.SEEK),
            clock_id=st.session_state.get(state.TIME_OWNER, ""), video_offset_s=offset)
        st.session_state[state.TIME_S] = playback.current_time_s
        return playback.current_time_s
    event = st.plotly_chart(figure, key=state.timeline_key(half), on_select="rerun", selection_mode="points",
                            config={"scrollZoom": True, "displaylogo": False}, width="stretch")
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else \
        getattr(getattr(event, "selection", None), "points", [])
    if points:
        st.session_state[state.TIME_S] = start_s = float(points[0]["x"])
    if video_url is not None:  # the file passed video_url_for's checks; an unreadable one is never handed on
        video = data.game.video_path(half)
        st.video(str(video), start_time=int(start_s + (offset or 0.0)),
                 format="video/webm" if video.suffix == ".webm" else "video/mp4")
    return start_s


def own_nms(choices: sidebar.PredictionChoices, data: sources.GameData) -> tuple[str, str] | None:
    """The chosen model's own suppression in words, short and whole (None without a model, or one that
    cannot be read: running it names the problem)."""
    if choices.model is None:
        return None
    try:
        settings = scoring.model_settings(choices.model.checkpoint)
    except InputError:
        return None
    return (describe_suppression(settings, data.spec.classes, short=True),
            describe_suppression(settings, data.spec.classes))


def run_model(choices: sidebar.PredictionChoices, data: sources.GameData, nms: float | None, where) -> object | None:
    """Run (or fetch from cache) the chosen model; its candidates join the sources; returns its scores."""
    choice = choices.model
    if choice is None:
        return None
    try:
        progress = None
        if not scoring.is_scored(choice.checkpoint, data.game, data.feature_halves):
            bar = where.progress(0.0, text=f"Running the {choice.name} on the features…")
            progress = lambda done, total: bar.progress(  # noqa: E731
                min(1.0, done / max(total, 1)), text=f"Running the {choice.name}… chunk {done}/{total}")
        scores = scoring.game_scores(choice.checkpoint, data.game, data.feature_halves, progress)
        where.empty()
        events = scoring.model_events(choice.checkpoint, data.game, data.feature_halves, nms)
    except InputError as error:
        where.empty()
        choices.errors.append(error)
        return None
    choices.results.insert(0, (choice.name, events))
    st.sidebar.caption(f"**{choice.name}** ran on **{scores.device}** in {scores.seconds:.1f} s "
                       "(cached: thresholds never re-run it).")
    return scores


def fit_model(choices: sidebar.PredictionChoices, data: sources.GameData) -> sources.GameData:
    """The game as the chosen model sees it: drawn at the model's feature rate, in the model's class set
    when the game has no labels. A model of another class set than the game's labels, or whose rate the
    game's features contradict (their length against games.json, the video or the labels), is not run:
    its error (naming the file, both rates and the fix) joins the page's. Without a model, a features-only
    game is drawn at the rate picked in the sidebar."""
    if choices.model is not None:
        try:
            spec, rate = scoring.model_task(choices.model.checkpoint)
            if data.labels is None:
                data = replace(data, spec=spec)
            problem = task_problem(spec, data.spec, choices.model.name)
            if problem is not None:
                raise problem
            return sources.with_model_rate(data, rate)
        except InputError as error:
            choices.errors.append(error)
            choices.model = None
    picked = st.session_state.get(state.FEATURES_FPS)
    if data.labels is None and picked:
        return sources.with_model_rate(data, float(picked), picked=True)
    return data


def page_url(data: sources.GameData, half: int, nms: float | None, threshold: float, tolerance: int,
             class_thresholds: dict[int, float], now: float) -> dict:
    """This view as URL parameters (every key from spotting.ui.state)."""
    source = st.session_state.get(state.SOURCE, state.SOURCE_DEMO)
    results = [line.strip() for line in str(st.session_state.get(state.RESULTS_PATHS, "")).splitlines() if line.strip()]
    features = st.session_state.get(state.SN_FEATURES) if source == state.SOURCE_SOCCERNET and data.feature_halves else None
    found = sources.feature_names(data.game)
    return state.game_url(
        source=source, half=half, nms=state.NMS_OWN if nms is None else nms, threshold=threshold, tolerance=tolerance, class_thresholds=class_thresholds,
        now_s=now, split=st.session_state.get(state.SN_SPLIT), game=data.game.name,
        saved=st.session_state.get(state.saved_key(data.game.name)), results=results,
        features=features if found and features != found[0] else None,  # the default needs no parameter
        model=state.model_url_value() if data.feature_halves else None,
        lanes=list(st.session_state.get(state.LANE_CLASSES) or []),
        curves=list(st.session_state.get(state.CURVE_CLASSES) or []),
        event_filter=st.session_state.get(state.EVENT_FILTER, ALL),
        tab=st.session_state.get(state.DETAILS_TAB) or state.TABS[0], classes=data.spec.classes)


def main() -> None:
    started = time.perf_counter()
    st.set_page_config(page_title="Action Spotting Studio", page_icon="⚽", layout="wide",
                       initial_sidebar_state=SIDEBAR_PX)
    compat.compact_main_block()
    state.restore_from_url()
    demo = sources.demo_assets()
    data, error = sidebar.game_ui(demo)
    if error:
        st.error(error, icon=":material/error:")
    if data is None:
        if not error and st.session_state.get(state.SOURCE) != state.SOURCE_VIDEO:  # that source says what it does
            st.info("Pick a game in the sidebar: the demo, a SoccerNet folder, uploaded files or your own video.")
        return
    choices = sidebar.predictions_ui(data, demo)
    data = fit_model(choices, data)
    summary = st.empty()
    errors = st.container()
    left, right = st.columns(COLUMNS, gap="medium")
    with right:
        top_left, top_right = st.columns(2, vertical_alignment="center")
        with top_left:
            half = half_ui(data)
        threshold, nms, tolerance = thresholds_ui(choices.model is not None, data.spec, own_nms(choices, data))
        with top_right:
            class_thresholds = class_thresholds_ui(threshold, data.spec.classes)
    scores = run_model(choices, data, nms, left.empty())
    with errors:
        for problem in choices.errors:
            st.error(str(problem), icon=":material/error:")
    sidebar.notes_ui(choices)
    if data.rate_note:
        st.caption(f":material/info: {data.rate_note}")
    for warning in data.rate_warnings:
        st.warning(warning, icon=":material/schedule:")
    shown = [threshold_and_match(name, events, data.labels, threshold, class_thresholds, tolerance, data.spec)
             for name, events in choices.results]
    if state.CURVE_CLASSES not in st.session_state and scores is not None:
        st.session_state[state.CURVE_CLASSES] = default_curves(choices.results[0][1], data.spec.classes)
    with right:
        classes, curve_classes = classes_and_curves_ui(scores is not None and bool(data.feature_halves), data.spec)
        kept = filter_ui(shown, data.labels, classes, data, half)
    with summary:
        panels.summary_ui(data, shown, half)
    curves = []
    if curve_classes and scores is not None and half in data.feature_halves:
        times, values = scoring.display_curves(choices.model.checkpoint, data.game, data.feature_halves, half,
                                               MAX_CURVE_POINTS)
        curves = [Curve(c, times[c], values[c]) for c in curve_classes]
    figure = half_figure(data, shown, kept, half, classes, curves)
    with left:
        now = draw_player(data, half, figure, shown, kept, classes)
    with right:
        if video_player_timeline is not None:
            panels.now_ui(now, shown, data.labels, half, curves, data.spec.classes)
        panels.table_ui(data, shown, kept, half, classes, TABLE_PX)
    panels.details_ui(data, shown, tolerance, threshold, class_thresholds)
    state.mirror_to_url(page_url(data, half, nms, threshold, tolerance, class_thresholds, now))
    if os.environ.get("STUDIO_TIMING"):  # benchmarks read this line from the server log
        print(f"studio: page run {1000 * (time.perf_counter() - started):.0f} ms, ended at {time.time():.2f}",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
