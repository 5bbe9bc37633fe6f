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

from spotting.soccernet import CLASS_INDEX, CLASSES

# Session-state keys shared by both pages (widgets with these keys exist on each page that uses them).
THRESHOLD = "threshold"
TOLERANCE = "tolerance"
OVERRIDE_CLASSES = "override_classes"  # classes whose threshold is overridden
CLASS_THRESHOLD_PREFIX = "thr::"  # + class name: that class's threshold slider
SN_ROOT = "sn_root"
SN_SPLIT = "sn_split"
# Game page.
SOURCE = "source"
SN_GAME = "sn_game"
HALF = "half"
NMS = "nms"
TIME_S = "_time_s"
RESULTS_PATHS = "results_paths"
SAVED_PREFIX = "saved::"  # + game name: the saved prediction sets picked for that game
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

SHARED_KEYS = (THRESHOLD, TOLERANCE, OVERRIDE_CLASSES, SN_ROOT, SN_SPLIT, SPLIT_MODELS, SPLIT_DIRS,
               SPLIT_MISSING_EMPTY, SPLIT_MODEL_A, SPLIT_MODEL_B, SPLIT_CLASSES, SPLIT_LEAGUES, SPLIT_SEASONS,
               SPLIT_TEXT, SPLIT_PR_CLASS, SPLIT_CHECKPOINT, RESULTS_PATHS, HALF, NMS, SOURCE)
SHARED_PREFIXES = (CLASS_THRESHOLD_PREFIX, SAVED_PREFIX)

TOLERANCES_S = (1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60)
DEFAULT_THRESHOLD = 0.2  # the demo model on the demo game: precision 0.94, recall 0.88 at δ = 10 s (best F1)
DEFAULT_TOLERANCE = 10
SPLITS = ("test", "valid", "train", "challenge", "all folders")
SOURCE_DEMO, SOURCE_SOCCERNET, SOURCE_UPLOAD = "Demo game", "SoccerNet folder", "Upload files"
SOURCE_CODES = {"demo": SOURCE_DEMO, "soccernet": SOURCE_SOCCERNET, "upload": SOURCE_UPLOAD}  # URL ``src``


def class_threshold_key(class_name: str) -> str:
    return CLASS_THRESHOLD_PREFIX + class_name


def saved_key(game_name: str) -> str:
    return SAVED_PREFIX + game_name


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


URL_NOTES = "_url_notes"  # what a link held that was ignored or changed (shown once, kept for tests)


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


def restore_from_url() -> None:
    """On a session's first run, take the shared view from ``st.query_params`` (a shared link reopens it).

    ``thr`` threshold, ``tol`` δ in seconds, ``cls`` per-class thresholds (``Goal:0.30,Corner:0.45``),
    ``split``, ``pred`` (saved prediction sets, comma-separated, for ``game``), and the game page's
    ``src``, ``game``, ``half``, ``nms``, ``t``. A link is not trusted: numbers are clamped to their
    slider's range and step, values that are not valid (``nan``, ``half=3``, an unknown source) are
    ignored, and one toast says what was changed or ignored (also kept in ``st.session_state[URL_NOTES]``).
    """
    if st.session_state.get("_restored"):
        return
    st.session_state["_restored"] = True
    params = st.query_params
    notes: list[str] = []
    if (value := _url_number(params, "thr", 0.0, 1.0, notes, step=0.01)) is not None:
        st.session_state[THRESHOLD] = value
    if (value := _url_number(params, "nms", 2.0, 60.0, notes, step=1.0)) is not None:
        st.session_state[NMS] = value
    if (value := _url_number(params, "tol", min(TOLERANCES_S), max(TOLERANCES_S), notes)) is not None:
        st.session_state[TOLERANCE] = min(TOLERANCES_S, key=lambda t: abs(t - value))
        if st.session_state[TOLERANCE] != value:
            notes.append(f"tol={_shown(params['tol'])} is not one of the tolerances: set to {st.session_state[TOLERANCE]}")
    if params.get("half") in ("1", "2"):
        st.session_state[HALF] = int(params["half"])
    elif params.get("half"):
        notes.append(f"half={_shown(params['half'])} is not 1 or 2: ignored")
    if (value := _url_number(params, "t", 0.0, 7 * 24 * 3600.0, notes)) is not None:
        st.session_state[TIME_S] = value
    if params.get("src") in SOURCE_CODES:
        st.session_state[SOURCE] = SOURCE_CODES[params["src"]]
    elif params.get("src"):
        notes.append(f"src={_shown(params['src'])} is not one of {', '.join(SOURCE_CODES)}: ignored")
    if params.get("split") in SPLITS:
        st.session_state[SN_SPLIT] = params["split"]
    elif params.get("split"):
        notes.append(f"split={_shown(params['split'])} is not a SoccerNet split: ignored")
    if params.get("game"):
        st.session_state[SN_GAME] = params["game"]
        if params.get("pred"):
            st.session_state[saved_key(params["game"])] = [p for p in params["pred"].split(",") if p]
    if params.get("models"):
        st.session_state[SPLIT_MODELS] = [m for m in params["models"].split(",") if m]
    overrides = decode_class_thresholds(params.get("cls", ""), notes)
    st.session_state[OVERRIDE_CLASSES] = [CLASSES[c] for c in overrides]
    for index, value in overrides.items():
        st.session_state[class_threshold_key(CLASSES[index])] = value
    st.session_state[URL_NOTES] = notes
    if notes:
        st.toast("This link's view was adjusted: " + "; ".join(notes) + ".", icon=":material/link:")


def mirror_to_url(values: dict[str, str]) -> None:
    """Make the URL hold exactly ``values`` (the page's view), writing only when it changed."""
    current = {k: st.query_params[k] for k in st.query_params}
    if current != values:
        st.query_params.from_dict(values)


def class_thresholds() -> dict[int, float]:
    """The per-class overrides in force: ``{class index: threshold}``."""
    return {CLASS_INDEX[name]: float(st.session_state.get(class_threshold_key(name), 0.0))
            for name in st.session_state.get(OVERRIDE_CLASSES, []) if name in CLASS_INDEX}


def encode_class_thresholds(class_thresholds: dict[int, float]) -> str:
    """``"Goal:0.30,Corner:0.45"`` — per-class overrides as they appear in the URL."""
    return ",".join(f"{CLASSES[c]}:{v:.2f}" for c, v in sorted(class_thresholds.items()))


def decode_class_thresholds(text: str, notes: list[str] | None = None) -> dict[int, float]:
    """Inverse of :func:`encode_class_thresholds`; malformed items are ignored and values clamped to
    [0, 1] (a link is not an input file), each noted in ``notes`` when given."""
    result = {}
    for item in (text or "").split(","):
        if not item:
            continue
        name, _, value = item.rpartition(":")
        number = _finite(value, 0.0, 1.0) if name in CLASS_INDEX else None
        if number is None:
            if notes is not None:
                notes.append(f"cls item {_shown(item)} is not Class:threshold: ignored")
            continue
        if notes is not None and not math.isclose(number, float(value), abs_tol=1e-9):
            notes.append(f"cls threshold {_shown(item)} is outside 0…1: set to {number:g}")
        result[CLASS_INDEX[name]] = number
    return result


def shared_url(threshold: float, tolerance: int, class_thresholds: dict[int, float]) -> dict[str, str]:
    """The URL parameters both pages write the same way."""
    url = {"thr": f"{threshold:.2f}", "tol": str(int(tolerance))}
    if class_thresholds:
        url["cls"] = encode_class_thresholds(class_thresholds)
    return url


# The game page's player. TIME_OWNER: the game and half the time in TIME_S belongs to (the player's
# ``clock_id``); SEEK: the last seek request, ``(counter, seconds)``.
TIME_OWNER = "_time_owner"
SEEK = "_seek"


# The split page's own view in a link (read by split_page.restore_split_view on a session's first visit).
Q_DIRS, Q_LEAGUE, Q_SEASON, Q_TEXT = "dirs", "league", "season", "q"
SPLIT_RESTORED = "_split_restored"
