"""Sidebar widgets: which game, which predictions. Each ``*_ui`` draws and returns plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from spotting.errors import InputError
from spotting.soccernet import DEFAULT_FEATURES, HALVES, LABELS_FILE, VIDEO_NAMES, Annotations, Game, game_title
from spotting.ui import sources
from spotting.ui.paths import typed_path

from spotting.ui.state import SOURCE_DEMO, SOURCE_SOCCERNET, SOURCE_UPLOAD, SPLITS  # noqa: E402  (one home for them)
CKPT_DEMO, CKPT_PATH, CKPT_UPLOAD = "Demo model", "Checkpoint path", "Upload checkpoint"


@dataclass(frozen=True)
class ModelChoice:
    name: str
    checkpoint: Path


@dataclass
class PredictionChoices:
    model: ModelChoice | None = None
    results: list[tuple[str, Annotations]] = field(default_factory=list)  # (lane name, events)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one warning per results file with unusual content
    minor_notes: list[str] = field(default_factory=list)  # files whose only oddity is their gameTime strings


def _flags(game: Game, saved: int) -> str:
    files = set(game.files)
    flags = [
        "labels" if LABELS_FILE in files else "",
        "features" if all(f"{h}_{game.features}" in files for h in HALVES) else "",
        "video" if any(f"1_{v}" in files for v in VIDEO_NAMES) else "",
        f"{saved} saved pred." if saved else "",
    ]
    return " · ".join(f for f in flags if f) or "no usable files"


def _files_table(games: list[Game], saved: dict[str, int]) -> pd.DataFrame:
    def has(game: Game, names: list[str]) -> str:
        return "✓" if set(names) & set(game.files) else ""

    return pd.DataFrame({
        "game": [_short(g.name) for g in games],
        "labels": [has(g, [LABELS_FILE]) for g in games],
        "features": ["✓" if all(f"{h}_{g.features}" in g.files for h in HALVES) else "" for g in games],
        "video": [has(g, [f"1_{v}" for v in VIDEO_NAMES]) for g in games],
        "saved pred.": [saved[g.name] or "" for g in games],
    })


def results_name(path: Path, game_name: str) -> str:
    """Lane name of a results file: the model folder of ``<model>/<game>/results_spotting.json``, else its folder."""
    folder = path.parent.as_posix()
    if game_name and folder.endswith("/" + game_name):
        return Path(folder[: -len(game_name) - 1]).name
    return path.parent.name if path.name == "results_spotting.json" else path.stem


def _short(name: str) -> str:
    return game_title(name)


def game_ui(demo: sources.DemoAssets) -> tuple[sources.GameData | None, str | None]:
    """Draw the game source pickers; return the game (None when nothing is loadable) and an error text."""
    sidebar = st.sidebar
    sidebar.header("Game")
    fallback = SOURCE_SOCCERNET if sources.default_soccernet_root() else SOURCE_UPLOAD
    st.session_state.setdefault("source", SOURCE_DEMO if demo.game is not None else fallback)
    source = sidebar.radio("Source", (SOURCE_DEMO, SOURCE_SOCCERNET, SOURCE_UPLOAD), key="source",
                           horizontal=False, label_visibility="collapsed")
    try:
        if source == SOURCE_DEMO:
            if demo.game is None:
                sidebar.info(f"The demo is not available: {demo.problem}.")
                return None, None
            sidebar.caption("A synthetic match with its own features, labels and video; the demo model was "
                            "trained on other synthetic matches.")
            return sources.load_game(demo.game, "Demo game (synthetic match)", "", sources.game_stamps(demo.game)), None
        if source == SOURCE_SOCCERNET:
            return _soccernet_ui(), None
        return _upload_ui(), None
    except InputError as error:
        return None, str(error)


def _soccernet_ui() -> sources.GameData | None:
    sidebar = st.sidebar
    st.session_state.setdefault("sn_root", sources.default_soccernet_root())
    root = sidebar.text_input("SoccerNet root", key="sn_root", help="Folder holding <league>/<season>/<game>/ "
                              "(defaults to $SOCCERNET_DIR).").strip()
    left, right = sidebar.columns(2)
    split = left.selectbox("Split", SPLITS, key="sn_split")
    st.session_state.setdefault("sn_features", DEFAULT_FEATURES)
    features = right.text_input("Features", key="sn_features",
                                help="Per-half file name after the 1_/2_ prefix.").strip() or DEFAULT_FEATURES
    if Path(features).name != features or features.startswith("."):
        raise InputError(features, "a features name is a file name, without folders",
                         f"e.g. {DEFAULT_FEATURES} for 1_{DEFAULT_FEATURES} and 2_{DEFAULT_FEATURES}")
    if not root:
        sidebar.info("Type the folder of your SoccerNet data (or set SOCCERNET_DIR).")
        return None
    root = str(typed_path(root, "SoccerNet root"))
    games = sources.list_games(root, None if split == "all folders" else split, features)
    if not games:
        sidebar.warning(f"No game of split '{split}' under {root}. Pick another split or 'all folders'.")
        return None
    saved_root = sources.allowed_predictions_root(root)
    saved = {g.name: len(sources.saved_predictions(str(saved_root), g.name)) if saved_root else 0 for g in games}
    by_name = {g.name: g for g in games}
    if st.session_state.get("sn_game") not in by_name:
        wanted = st.session_state.get("sn_game")
        if wanted:  # e.g. a shared link to a game this root or split does not hold
            sidebar.caption(f":material/info: Game `{str(wanted)[:120].replace('`', '')}` is not in this split "
                            "under this root: showing the first one.")
        st.session_state["sn_game"] = games[0].name
    name = sidebar.selectbox(f"Game ({len(games)})", list(by_name), key="sn_game", format_func=_short)
    game = by_name[name]
    sidebar.caption(f"`{name}`  \n{_flags(game, saved[name])}")
    with sidebar.expander("Files of every game"):
        st.dataframe(_files_table(games, saved), hide_index=True, height=260, width="stretch")
    return sources.soccernet_game(game)


def _upload_ui() -> sources.GameData | None:
    sidebar = st.sidebar
    sidebar.caption("Per-half features `(frames, dim)` .npy at 2 fps and/or a Labels-v2.json.")
    first = sidebar.file_uploader("Half 1 features (.npy)", type=["npy"], key="up_f1")
    second = sidebar.file_uploader("Half 2 features (.npy)", type=["npy"], key="up_f2")
    labels = sidebar.file_uploader("Labels-v2.json", type=["json"], key="up_labels")
    features = {h: (f.name, f.getvalue()) for h, f in ((1, first), (2, second)) if f is not None}
    if not features and labels is None:
        sidebar.info("Upload features and/or labels to start.")
        return None
    return sources.uploaded_game(features, (labels.name, labels.getvalue()) if labels else None)


def predictions_ui(data: sources.GameData, demo: sources.DemoAssets) -> PredictionChoices:
    """Draw the model and results-file pickers; load the results files (errors collected, not raised)."""
    sidebar = st.sidebar
    choices = PredictionChoices()
    sidebar.header("Predictions")
    if data.feature_halves:
        choices.model = _model_ui(demo, choices)
    else:
        sidebar.caption("This game has no features, so no model can run: load saved predictions below.")
    names: set[str] = set()

    def unique(name: str) -> str:
        base, count = name, 2
        while name in names:
            name, count = f"{base} ({count})", count + 1
        names.add(name)
        return name

    saved_root = sources.allowed_predictions_root(st.session_state.get("sn_root", "")) if data.url_local else None
    saved = sources.saved_predictions(str(saved_root), data.game.name) if saved_root else {}
    if saved:
        key = f"saved::{data.game.name}"
        if key in st.session_state:  # a link may name prediction sets this game does not have
            st.session_state[key] = [m for m in st.session_state[key] if m in saved]
        picked = sidebar.multiselect("Saved predictions for this game", list(saved), default=list(saved),
                                     key=f"saved::{data.game.name}")
        for model in picked:
            _load(choices, unique(model), lambda p=saved[model]: sources.results_file(p))
    paths = sidebar.text_area("results_spotting.json paths (one per line)", key="results_paths", height=68,
                              placeholder="/path/to/<game>/results_spotting.json")
    for line in (l.strip() for l in paths.splitlines()):
        if line:
            name = results_name(Path(line), data.game.name)
            _load(choices, unique(name or line),
                  lambda p=line: sources.results_file(str(typed_path(p, "results file"))))
    uploads = sidebar.file_uploader("Upload results_spotting.json", type=["json"], accept_multiple_files=True,
                                    key="results_uploads")
    for upload in uploads or []:
        _load(choices, unique(Path(upload.name).stem),
              lambda u=upload: sources.results_upload(u.name, u.getvalue()))
    return choices


def _load(choices: PredictionChoices, name: str, loader) -> None:
    try:
        results = loader()
    except InputError as error:
        choices.errors.append(error)
        return
    choices.results.append((name, results.events))
    if results.warning:
        (choices.minor_notes if results.only_game_times else choices.notes).append(results.warning)


def _model_ui(demo: sources.DemoAssets, choices: PredictionChoices) -> ModelChoice | None:
    sidebar = st.sidebar
    modes = ([CKPT_DEMO] if demo.checkpoint else []) + [CKPT_PATH, CKPT_UPLOAD]
    is_demo = st.session_state.get("source", SOURCE_DEMO) == SOURCE_DEMO
    # On by default only for the demo: the demo model was trained on synthetic features, not on yours.
    key = "run_model" if is_demo else "run_model_game"
    st.session_state.setdefault(key, is_demo and bool(demo.checkpoint))
    run = sidebar.toggle("Run a model on the features", key=key)
    if not run:
        return None
    mode = sidebar.radio("Checkpoint", modes, key="ckpt_mode", horizontal=True, label_visibility="collapsed")
    if mode == CKPT_DEMO:
        return ModelChoice("demo model", demo.checkpoint)
    if mode == CKPT_PATH:
        path = sidebar.text_input("Checkpoint (.pt)", key="ckpt_path", placeholder="runs/calf/best.pt").strip()
        if not path:
            return None
        try:
            checkpoint = typed_path(path, "checkpoint")
        except InputError as error:
            choices.errors.append(error)
            return None
        if not checkpoint.is_file():
            choices.errors.append(InputError(path, "checkpoint not found", "check the path in the sidebar"))
            return None
        return ModelChoice(checkpoint.stem, checkpoint)
    upload = sidebar.file_uploader("Checkpoint (.pt)", type=["pt", "pth", "ckpt"], key="ckpt_upload")
    if upload is None:
        return None
    try:  # loaded here (cached) so that a bad file is named as uploaded, not as its temporary copy
        copy = sources.save_upload(upload.name, upload.getvalue())
        sources.load_model(str(copy), sources.stamp(copy))
    except InputError as error:
        choices.errors.append(error)
        return None
    return ModelChoice(Path(upload.name).stem, copy)
