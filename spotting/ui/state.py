"""The app's state that outlives one page: session-state keys shared by the pages, and the URL.

Both pages (game and split) read the same threshold, per-class thresholds, tolerance δ, SoccerNet
root and split, so a user who tunes them on one page finds them on the other. Two Streamlit habits
make that need care, handled here once:

* a widget's session-state value is deleted at the end of a run in which the widget was not drawn
  (e.g. the split page's run drops the game page's slider keys); :func:`keep_widget_state`
  re-assigns the shared keys at the start of every run, which Streamlit documents as the way to
  keep them ("Working with widgets in multipage apps", option 3);
* query parameters are cleared on a page switch; each page writes its own view with
  :func:`mirror_to_url`, and a session's first run, whatever its page, reads the shared ones with
  :func:`restore_from_url`.
"""

from __future__ import annotations

import math

import streamlit as st

from spotting.soccernet import CLASSES
from spotting.specs import KNOWN_CLASS_NAMES as KNOWN_CLASSES  # what a link may name (the game's set is checked later)

# Session-state keys, every one the pages use (no module spells a key itself).
# Shared by both pages (widgets with these keys exist on each page that uses them).
THRESHOLD = "threshold"
TOLERANCE = "tolerance"
OVERRIDE_CLASSES = "override_classes"  # classes whose threshold is overridden
CLASS_THRESHOLD_PREFIX = "thr::"  # + class name: that class's threshold slider
SN_ROOT = "sn_root"
SN_SPLIT = "sn_split"
# Game page: the sidebar.
SOURCE = "source"
SN_GAME, SN_FEATURES = "sn_game", "sn_features"
UPLOAD_HALF_PREFIX, UPLOAD_LABELS = "up_f", "up_labels"  # UPLOAD_HALF_PREFIX + half: that half's uploaded features
RUN_MODEL = "run_model"  # the model toggle of the demo (on by default) ...
RUN_MODEL_GAME = "run_model_game"  # ... and of any other game (off by default) ...
RUN_MODEL_VIDEO = "run_model_video"  # ... and of "Your video" (on: its point is a model's events)
# "Your video" (spotting.ui.your_video): its fields (kept across page switches); upload, buttons, the half last shown.
VIDEO_FIELDS = (VIDEO_PATH, VIDEO_EXTRACTOR, VIDEO_HALF, VIDEO_RANGE, VIDEO_START, VIDEO_END, VIDEO_SPLIT_AT, VIDEO_PCA,
                VIDEO_PCA_MEAN, VIDEO_WEIGHTS) = ("yv_path", "yv_extractor", "yv_half", "yv_range", "yv_start", "yv_end",
                                                  "yv_split_at", "yv_pca", "yv_pca_mean", "yv_weights")
VIDEO_UPLOAD, VIDEO_EXTRACT, VIDEO_STOP, VIDEO_SHOWN = "yv_upload", "yv_extract", "yv_stop", "_yv_shown"
CKPT_MODE, CKPT_PATH, CKPT_UPLOAD = "ckpt_mode", "ckpt_path", "ckpt_upload"
SAVED_PREFIX = "saved::"  # + game name: the saved prediction sets picked for that game
RESULTS_PATHS, RESULTS_UPLOADS = "results_paths", "results_uploads"
# Game page: the view.
HALF, NMS = "half", "nms"
NMS_TASK, URL_TASK, FEATURES_FPS = "_nms_task", "<link>", "features_fps"  # NMS default's class set; fps picked
LANE_CLASSES = "lane_classes"  # classes on the timeline ([] = all)
CURVE_CLASSES = "curve_classes"  # classes whose segmentation curve is drawn
EVENT_FILTER = "event_filter"  # which events the table and the timeline show (see spotting.ui.events.EventFilter)
DETAILS_TAB = "details_tab"  # the open tab under the player
TABLE_LABELS = "table_labels"  # ground-truth rows in the event table
METRICS_SOURCE = "metrics_source"
PR_CLASS = "pr_class"
CSV_MISSED = "csv_missed"  # missed ground truth rows in the CSV export
PLAYER = "player"  # the player component's key (its state: what the browser reported)
EVENTS_TABLE_PREFIX = "events-"  # + half: the event table (its selection)
TIMELINE_PREFIX = "timeline-"  # + half: the timeline chart without the player (its selection)
JUMP_PREFIX = "jump"  # + "-next" / "-previous": the buttons to the next / previous event the filter shows
EXPORT_JSON_PREFIX = "export-json-"  # + source name: its results_spotting.json download
EXPORT_CSV = "export-csv"
# Game page: not widgets. TIME_S: the playhead (seconds in the half); TIME_OWNER: the game and half it
# belongs to (the player's ``clock_id``); SEEK: the last seek request ``(counter, seconds)``;
# PLAYER_SEEK_SEEN_PREFIX + player key: the last request the player reported as done.
TIME_S = "_time_s"
TIME_OWNER = "_time_owner"
SEEK = "_seek"
PLAYER_SEEK_SEEN_PREFIX = "_player_seek_seen::"
RESTORED = "_restored"  # the session's first run read the URL
URL_NOTES = "_url_notes"  # what a link held that was ignored or changed (shown once, kept for tests)
# Split page.
SPLIT_MODELS = "split_models"
SPLIT_DIRS = "split_dirs"
SPLIT_MISSING_EMPTY = "split_missing_empty"
SPLIT_MODEL_A = "split_model_a"
SPLIT_MODEL_B = "split_model_b"
SPLIT_CLASSES = "split_classes"
SPLIT_LEAGUES = "split_leagues"
SPLIT_SEASONS = "split_seasons"
SPLIT_TEXT = "split_text"
SPLIT_PR_CLASS = "split_pr_class"
SPLIT_CHECKPOINT = "split_checkpoint"
SPLIT_GAMES_TABLE, SPLIT_TAB = "split_games", "split_tab"  # the per-game table (a selection opens a game); tabs

# Kept across page switches (a widget's value is dropped at the end of a run that did not draw it).
# Not file uploaders: their value cannot be assigned.
SHARED_KEYS = (THRESHOLD, TOLERANCE, OVERRIDE_CLASSES, SN_ROOT, SN_SPLIT, SPLIT_MODELS, SPLIT_DIRS,
               SPLIT_MISSING_EMPTY, SPLIT_MODEL_A, SPLIT_MODEL_B, SPLIT_CLASSES, SPLIT_LEAGUES, SPLIT_SEASONS,
               SPLIT_TEXT, SPLIT_PR_CLASS, SPLIT_CHECKPOINT, RESULTS_PATHS, HALF, NMS, SOURCE, SN_GAME, SN_FEATURES,
               LANE_CLASSES, CURVE_CLASSES, EVENT_FILTER, RUN_MODEL, RUN_MODEL_GAME, CKPT_MODE, CKPT_PATH,
               RUN_MODEL_VIDEO, *VIDEO_FIELDS)
SHARED_PREFIXES = (CLASS_THRESHOLD_PREFIX, SAVED_PREFIX)

# URL parameters (``st.query_params``): what a shared link holds.
Q_THRESHOLD, Q_TOLERANCE, Q_CLASS_THRESHOLDS = "thr", "tol", "cls"
Q_SPLIT, Q_MODELS = "split", "models"  # ``models``: the split page's saved prediction sets
Q_SOURCE, Q_GAME, Q_HALF, Q_NMS, Q_TIME = "src", "game", "half", "nms", "t"
Q_SAVED = "pred"  # saved prediction sets of ``game``, comma-separated
Q_RESULTS = "res"  # results paths (files, folders, zips), one parameter each
Q_FEATURES = "feat"
Q_MODEL = "model"  # "demo", "off" or a checkpoint path
Q_CURVES = "curves"  # classes, comma-separated
Q_LANES = "classes"  # classes on the timeline, comma-separated (absent: all)
Q_TAB = "tab"  # the open tab under the player, lower case
Q_FILTER = "show"  # the event filter's code

TOLERANCES_S, DEFAULT_TOLERANCE = (1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60), 10
DEFAULT_THRESHOLD = 0.2  # demo model on the demo game, its own NMS: precision 0.97, recall 0.88 at δ = 10 s (best F1)
NMS_OWN = "own"  # NMS value: the model's own windows (calibrated per class, else its task's)
NMS_CHOICES = (NMS_OWN, *(float(w) for w in range(2, 61)))  # the slider's values, seconds
SPLITS = ("test", "valid", "train", "challenge", "all")  # the split pickers add the root's sub-folders
SOURCE_DEMO, SOURCE_SOCCERNET, SOURCE_UPLOAD, SOURCE_VIDEO = "Demo game", "SoccerNet folder", "Upload files", "Your video"
SOURCE_CODES = dict(demo=SOURCE_DEMO, soccernet=SOURCE_SOCCERNET, upload=SOURCE_UPLOAD, video=SOURCE_VIDEO)  # URL src
CKPT_DEMO, CKPT_BY_PATH, CKPT_BY_UPLOAD = "Demo model", "Checkpoint path", "Upload checkpoint"  # CKPT_MODE values
TABS = ("Metrics", "Export")  # DETAILS_TAB values, the first open by default
ALL_EVENTS = "all"  # EVENT_FILTER's default


def class_threshold_key(class_name: str) -> str:
    return CLASS_THRESHOLD_PREFIX + class_name


def saved_key(game_name: str) -> str:
    return SAVED_PREFIX + game_name


def upload_half_key(half: int) -> str:
    return f"{UPLOAD_HALF_PREFIX}{half}"


def events_table_key(half: int) -> str:
    return f"{EVENTS_TABLE_PREFIX}{half}"


def timeline_key(half: int) -> str:
    return f"{TIMELINE_PREFIX}{half}"


def jump_key(direction: int) -> str:
    return f"{JUMP_PREFIX}-{'next' if direction > 0 else 'previous'}"


def export_json_key(source_name: str) -> str:
    return EXPORT_JSON_PREFIX + source_name


def run_model_key(source: str) -> str:
    """The model toggle's key: the demo's and your video's are on by default, any other game's off."""
    return {SOURCE_DEMO: RUN_MODEL, SOURCE_VIDEO: RUN_MODEL_VIDEO}.get(source, RUN_MODEL_GAME)


def keep_widget_state() -> None:
    """Re-assign the shared keys so a page that does not draw their widgets does not drop them."""
    for key in list(st.session_state.keys()):
        if key in SHARED_KEYS or key.startswith(SHARED_PREFIXES):
            st.session_state[key] = st.session_state[key]


def _finite(text: str, low: float, high: float) -> float | None:
    """A URL number clamped to [low, high]; None when it is not a finite number (a link is not trusted)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return min(high, max(low, value)) if math.isfinite(value) else None


def _shown(text: str) -> str:
    """A link's value as a notice quotes it: short, without markdown that could format or link."""
    clean = "".join(c for c in str(text)[:24] if c.isprintable() and c not in "`*_[]()<>\\|#~$")
    return f"`{clean}`" + ("…" if len(str(text)) > 24 else "")


def _url_number(params, name: str, low: float, high: float, notes: list[str], step: float | None = None) -> float | None:
    """``params[name]`` as a number in [low, high] (rounded to ``step``); a note when ignored or changed."""
    text = params.get(name)
    if text is None or text == "":
        return None
    value = _finite(text, low, high)
    if value is None:
        notes.append(f"{name}={_shown(text)} is not a finite number: ignored")
        return None
    if step:
        value = min(high, max(low, round(round(value / step) * step, 9)))
    if not math.isclose(value, float(text), rel_tol=0, abs_tol=1e-9):
        notes.append(f"{name}={_shown(text)} is outside {low:g}…{high:g} or between steps: set to {value:g}")
    return value


def _url_classes(params, name: str, notes: list[str]) -> list[str] | None:
    """``params[name]`` as class names (comma-separated); unknown names are noted and left out."""
    text = params.get(name)
    if not text:
        return None
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in KNOWN_CLASSES]
    if unknown:
        notes.append(f"{name}: {', '.join(_shown(n) for n in unknown[:3])} not a class: ignored")
    return list(dict.fromkeys(n for n in names if n in KNOWN_CLASSES))


def restore_from_url() -> None:
    """On a session's first run, take the view from ``st.query_params`` (a shared link reopens it).

    Both pages: ``thr`` threshold, ``tol`` δ in seconds, ``cls`` per-class thresholds
    (``Goal:0.30,Corner:0.45``), ``split``; the split page's ``models``; the game page's ``src``,
    ``game``, ``pred`` (saved prediction sets of ``game``), ``res`` (results paths, one parameter
    each), ``feat`` (features), ``model`` (``demo``, ``off`` or a checkpoint path), ``half``, ``nms``,
    ``t``, ``classes`` (on the timeline), ``curves``, ``show`` (the event filter) and ``tab``. A link
    is not trusted: numbers are clamped to their slider's range and step, values that are not valid
    (``nan``, ``half=3``, an unknown source or class) are ignored, and one toast says what was changed
    or ignored (also kept in ``st.session_state[URL_NOTES]``). Paths are checked where they are used
    (``spotting.ui.paths.typed_path``), as typed ones are.
    """
    if st.session_state.get(RESTORED):
        return
    st.session_state[RESTORED] = True
    params = st.query_params
    notes: list[str] = []
    if (value := _url_number(params, Q_THRESHOLD, 0.0, 1.0, notes, step=0.01)) is not None:
        st.session_state[THRESHOLD] = value
    own = params.get(Q_NMS) == NMS_OWN
    if (value := NMS_OWN if own else _url_number(params, Q_NMS, 2.0, 60.0, notes, step=1.0)) is not None:
        st.session_state[NMS], st.session_state[NMS_TASK] = value, URL_TASK  # the link's holds for the first game
    if (value := _url_number(params, Q_TOLERANCE, min(TOLERANCES_S), max(TOLERANCES_S), notes)) is not None:
        st.session_state[TOLERANCE] = min(TOLERANCES_S, key=lambda t: abs(t - value))
        if st.session_state[TOLERANCE] != value:
            notes.append(f"tol={_shown(params[Q_TOLERANCE])} is not one of the tolerances: set to "
                         f"{st.session_state[TOLERANCE]}")
    if params.get(Q_HALF) in ("1", "2"):
        st.session_state[HALF] = int(params[Q_HALF])
    elif params.get(Q_HALF):
        notes.append(f"half={_shown(params[Q_HALF])} is not 1 or 2: ignored")
    if (value := _url_number(params, Q_TIME, 0.0, 7 * 24 * 3600.0, notes)) is not None:
        st.session_state[TIME_S] = value
    if params.get(Q_SOURCE) in SOURCE_CODES:
        st.session_state[SOURCE] = SOURCE_CODES[params[Q_SOURCE]]
    elif params.get(Q_SOURCE):
        notes.append(f"src={_shown(params[Q_SOURCE])} is not one of {', '.join(SOURCE_CODES)}: ignored")
    if params.get(Q_SPLIT):  # checked against the root by the split picker (a sub-folder, 'all folders' = all)
        st.session_state[SN_SPLIT] = params[Q_SPLIT]
    if params.get(Q_GAME):
        st.session_state[SN_GAME] = params[Q_GAME]
        if params.get(Q_SAVED):
            st.session_state[saved_key(params[Q_GAME])] = [p for p in params[Q_SAVED].split(",") if p]
    if params.get(Q_MODELS):
        st.session_state[SPLIT_MODELS] = [m for m in params[Q_MODELS].split(",") if m]
    results = [line.strip() for line in params.get_all(Q_RESULTS) if line.strip()]
    if results:
        st.session_state[RESULTS_PATHS] = "\n".join(results)
    if params.get(Q_FEATURES):
        st.session_state[SN_FEATURES] = params[Q_FEATURES]  # kept only when the game has such files
    _restore_model(params.get(Q_MODEL))
    for name, key in ((Q_LANES, LANE_CLASSES), (Q_CURVES, CURVE_CLASSES)):
        if (names := _url_classes(params, name, notes)) is not None:
            st.session_state[key] = names
    if params.get(Q_TAB):
        tab = next((t for t in TABS if t.lower() == params[Q_TAB].lower()), None)
        if tab is None:
            notes.append(f"tab={_shown(params[Q_TAB])} is not one of {', '.join(t.lower() for t in TABS)}: ignored")
        else:
            st.session_state[DETAILS_TAB] = tab
    if params.get(Q_FILTER):
        st.session_state[EVENT_FILTER] = params[Q_FILTER]  # checked against the sources shown
    overrides = decode_class_thresholds(params.get(Q_CLASS_THRESHOLDS, ""), notes, KNOWN_CLASSES)
    st.session_state[OVERRIDE_CLASSES] = [KNOWN_CLASSES[c] for c in overrides]
    for index, value in overrides.items():
        st.session_state[class_threshold_key(KNOWN_CLASSES[index])] = value
    st.session_state[URL_NOTES] = notes
    if notes:
        st.toast("This link's view was adjusted: " + "; ".join(notes) + ".", icon=":material/link:")


def _restore_model(value: str | None) -> None:
    """``model``: ``demo`` (the demo model), ``off`` (no model run), else a checkpoint path."""
    if not value:
        return
    source = st.session_state.get(SOURCE, SOURCE_DEMO)
    if value == "off":
        st.session_state[run_model_key(source)] = False
        return
    st.session_state[run_model_key(source)] = True
    if value == "demo":
        st.session_state[CKPT_MODE] = CKPT_DEMO
    else:
        st.session_state[CKPT_MODE] = CKPT_BY_PATH
        st.session_state[CKPT_PATH] = value


def model_url_value() -> str | None:
    """The ``model`` parameter of the current view; None when it is the page's default."""
    source = st.session_state.get(SOURCE, SOURCE_DEMO)
    key = run_model_key(source)
    if not st.session_state.get(key, on_by_default := key in (RUN_MODEL, RUN_MODEL_VIDEO)):
        return "off" if on_by_default else None
    mode = st.session_state.get(CKPT_MODE, CKPT_DEMO)
    if mode == CKPT_BY_PATH and str(st.session_state.get(CKPT_PATH, "")).strip():
        return str(st.session_state[CKPT_PATH]).strip()
    if mode == CKPT_DEMO and key != RUN_MODEL:
        return "demo"
    return None


def mirror_to_url(values: dict[str, str | list[str]]) -> None:
    """Make the URL hold exactly ``values`` (the page's view; a list is one parameter per item),
    writing only when it changed."""
    current = {}
    for key in st.query_params:
        items = st.query_params.get_all(key)
        current[key] = items[0] if len(items) == 1 else items
    wanted = {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in values.items()
              if not (isinstance(v, list) and not v)}
    if current != wanted:
        st.query_params.from_dict(wanted)


def class_thresholds(classes: tuple[str, ...] = CLASSES) -> dict[int, float]:
    """The per-class overrides in force: ``{index in classes (the game's class set): threshold}``."""
    index = {name: i for i, name in enumerate(classes)}
    return {index[name]: float(st.session_state.get(class_threshold_key(name), 0.0))
            for name in st.session_state.get(OVERRIDE_CLASSES, []) if name in index}


def encode_class_thresholds(class_thresholds: dict[int, float], classes: tuple[str, ...] = CLASSES) -> str:
    """``"Goal:0.30,Corner:0.45"`` — per-class overrides (indices into ``classes``) as they appear in the URL."""
    return ",".join(f"{classes[c]}:{v:.2f}" for c, v in sorted(class_thresholds.items()))


def decode_class_thresholds(text: str, notes: list | None = None, classes: tuple = CLASSES) -> dict[int, float]:
    """Inverse of :func:`encode_class_thresholds` (indices into ``classes``); malformed items are ignored and
    values clamped to [0, 1] (a link is not an input file), each noted in ``notes`` when given."""
    index, result = {name: i for i, name in enumerate(classes)}, {}
    for item in (text or "").split(","):
        if not item:
            continue
        name, _, value = item.rpartition(":")
        number = _finite(value, 0.0, 1.0) if name in index else None
        if number is None:
            if notes is not None:
                notes.append(f"cls item {_shown(item)} is not Class:threshold: ignored")
            continue
        if notes is not None and not math.isclose(number, float(value), abs_tol=1e-9):
            notes.append(f"cls threshold {_shown(item)} is outside 0…1: set to {number:g}")
        result[index[name]] = number
    return result


def shared_url(threshold: float, tolerance: int, class_thresholds: dict, classes: tuple = CLASSES) -> dict[str, str]:
    """The URL parameters both pages write the same way (``class_thresholds`` index ``classes``)."""
    url = {"thr": f"{threshold:.2f}", "tol": str(int(tolerance))}
    if class_thresholds:
        url["cls"] = encode_class_thresholds(class_thresholds, classes)
    return url


def game_url(*, source: str, half: int, nms: float | str, threshold: float, tolerance: int,
             class_thresholds: dict[int, float], now_s: float = 0.0, split: str | None = None,
             game: str | None = None, saved: list[str] | None = None, results: list[str] | None = None,
             features: str | None = None, model: str | None = None, lanes: list[str] | None = None,
             curves: list[str] | None = None, event_filter: str = ALL_EVENTS, tab: str = TABS[0],
             classes: tuple[str, ...] = CLASSES) -> dict:
    """The game page's URL parameters for a view (what :func:`restore_from_url` reads back).

    Defaults are left out (no ``classes`` when every class is on the timeline, no ``show`` for all
    events, no ``tab`` for the first tab), so a plain link stays short.
    """
    code = next((c for c, s in SOURCE_CODES.items() if s == source), "demo")
    url: dict[str, str | list[str]] = {Q_SOURCE: code, Q_HALF: str(int(half)), Q_NMS: nms if nms == NMS_OWN else f"{nms:g}",
                                       **shared_url(threshold, tolerance, class_thresholds, classes)}
    if code == "soccernet" and game:
        url[Q_SPLIT] = split or SPLITS[0]
        url[Q_GAME] = game
        if saved:
            url[Q_SAVED] = ",".join(saved)
    if results:
        url[Q_RESULTS] = list(results)
    if features:
        url[Q_FEATURES] = features
    if model:
        url[Q_MODEL] = model
    if lanes:
        url[Q_LANES] = ",".join(lanes)
    if curves:
        url[Q_CURVES] = ",".join(curves)
    if event_filter and event_filter != ALL_EVENTS:
        url[Q_FILTER] = event_filter
    if tab and tab != TABS[0]:
        url[Q_TAB] = tab.lower()
    if now_s >= 1:
        url[Q_TIME] = str(int(now_s))
    return url


# The split page's own view in a link (read by split_page.restore_split_view on a session's first visit).
Q_DIRS, Q_LEAGUE, Q_SEASON, Q_TEXT = "dirs", "league", "season", "q"
SPLIT_RESTORED = "_split_restored"
