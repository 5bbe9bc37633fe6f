"""Sidebar widgets: which game, which predictions. Each ``*_ui`` draws and returns plain values."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import streamlit as st

from spotting.errors import InputError
from spotting.selection import ALL, LEGACY_ALL, SPLIT_HELP, named_choices, subfolders
from spotting.soccernet import LABELS_FILE, VIDEO_NAMES, Annotations, Game, game_title
from spotting.ui import scoring, sources, state, uploads, your_video
from spotting.ui.events import plural
from spotting.ui.paths import typed_path
from spotting.ui.sources import results_name
from spotting.ui.state import (CKPT_BY_PATH, CKPT_BY_UPLOAD, CKPT_DEMO, SOURCE_DEMO, SOURCE_SOCCERNET, SOURCE_UPLOAD,
                               SOURCE_VIDEO, SPLITS)

__all__ = ["ModelChoice", "PredictionChoices", "game_ui", "notes_ui", "predictions_ui", "results_name", "split_ui"]


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


def _has_features(game: Game) -> bool:
    return any(f.startswith("1_") and f.endswith(".npy") for f in game.files)


def _flags(game: Game, saved: int) -> str:
    files = set(game.files)
    flags = [
        "labels" if game.labels_file in files else "",
        "features" if _has_features(game) else "",
        "video" if any(f"1_{v}" in files for v in VIDEO_NAMES) else "",
        plural(saved, "saved prediction set") if saved else "",
    ]
    return " · ".join(f for f in flags if f) or "no usable files"


def _files_table(games: list[Game], saved: dict[str, int]) -> pd.DataFrame:
    def has(game: Game, names: list[str]) -> str:
        return "✓" if set(names) & set(game.files) else ""

    return pd.DataFrame({
        "game": [game_title(g.name) for g in games],
        "labels": [has(g, [g.labels_file]) for g in games],
        "features": ["✓" if _has_features(g) else "" for g in games],
        "video": [has(g, [f"1_{v}" for v in VIDEO_NAMES]) for g in games],
        "saved pred.": [saved[g.name] or "" for g in games],
    })


def game_ui(demo: sources.DemoAssets) -> tuple[sources.GameData | None, str | None]:
    """Draw the game source pickers; return the game (None when nothing is loadable) and an error text."""
    sidebar = st.sidebar
    sidebar.header("Game")
    fallback = SOURCE_SOCCERNET if sources.default_soccernet_root() else SOURCE_UPLOAD
    st.session_state.setdefault(state.SOURCE, SOURCE_DEMO if demo.game is not None else fallback)
    source = sidebar.radio("Source", (SOURCE_DEMO, SOURCE_SOCCERNET, SOURCE_UPLOAD, SOURCE_VIDEO), key=state.SOURCE,
                           horizontal=False, label_visibility="collapsed")
    try:
        if source == SOURCE_DEMO:
            if demo.game is None:
                sidebar.info(f"The demo is not available: {demo.problem}.")
                return None, None
            sidebar.caption("A synthetic match with its own features, labels and video; the demo model was "
                            "trained on other synthetic matches.")
            return sources.load_game(demo.game, "Demo game (synthetic match)"), None
        if source == SOURCE_SOCCERNET:
            return _soccernet_ui(), None
        if source == SOURCE_VIDEO:
            return your_video.video_ui(), None
        return _upload_ui(), None
    except InputError as error:
        return None, str(error)


def _quoted(text: object) -> str:
    return "`" + str(text)[:120].replace("`", "") + "`"


def _is_subfolder(root: str, name: str) -> bool:
    """``name`` is a folder inside ``root`` (no absolute path, no ``..``: nothing outside it is looked up)."""
    path = Path(name)
    return bool(root) and not path.is_absolute() and ".." not in path.parts and (Path(root) / path).is_dir()


def split_ui(root: str) -> str:
    """The split picker of both pages, in the commands' vocabulary (:mod:`spotting.selection`): the official
    names, ``all`` and the root's sub-folders to pick, or a deeper sub-folder or a file listing game folders
    to type. A typed file goes through :func:`typed_path` (restricted: inside the data roots); a name that
    is none of these falls back to the first choice with a note."""
    st.session_state.setdefault(state.SN_SPLIT, SPLITS[0])
    if st.session_state[state.SN_SPLIT] == LEGACY_ALL:  # the former name, in links and sessions
        st.session_state[state.SN_SPLIT] = ALL
    wanted = str(st.session_state[state.SN_SPLIT])
    choices = [*SPLITS, *(subfolders(root) if root else [])]
    if wanted not in choices:
        try:
            if not _is_subfolder(root, wanted):
                wanted = str(typed_path(wanted, "split file"))
                if not Path(wanted).is_file():
                    raise InputError(wanted, "is neither a sub-folder of the root nor a file listing game folders",
                                     f"pick one of {named_choices(choices)}")
        except InputError as error:
            st.sidebar.caption(f":material/info: Split: {error}; showing {SPLITS[0]}.")
            wanted = SPLITS[0]
        st.session_state[state.SN_SPLIT] = wanted
        if wanted not in choices:
            choices.append(wanted)
    return st.sidebar.selectbox("Split", choices, key=state.SN_SPLIT, accept_new_options=True,
                                help=SPLIT_HELP[0].upper() + SPLIT_HELP[1:] + ". Type a deeper sub-folder or a file's path.")


def _soccernet_ui() -> sources.GameData | None:
    sidebar = st.sidebar
    st.session_state.setdefault(state.SN_ROOT, sources.default_soccernet_root())
    root = sidebar.text_input("SoccerNet root", key=state.SN_ROOT, help="Folder holding <league>/<season>/<game>/ "
                              "(defaults to $SOCCERNET_DIR).").strip()
    checked, problem = "", None
    if root:
        try:
            checked = str(typed_path(root, "SoccerNet root"))
        except InputError as error:  # said below, once the split picker is drawn (it keeps its value)
            problem = error
    split = split_ui(checked)
    if problem is not None:
        raise problem
    root = checked
    if not root:
        sidebar.info("Type the folder of your SoccerNet data (or set SOCCERNET_DIR).")
        return None
    games = sources.list_games(root, split, sources.DEFAULT_FEATURES)
    if not games:
        sidebar.warning(f"No game of split '{split}' under {root}. Pick another split or '{ALL}'.")
        return None
    saved_root = sources.allowed_predictions_root(root)
    saved = {g.name: len(sources.saved_predictions(str(saved_root), g.name)) if saved_root else 0 for g in games}
    by_name = {g.name: g for g in games}
    if st.session_state.get(state.SN_GAME) not in by_name:
        wanted = st.session_state.get(state.SN_GAME)
        if wanted:  # e.g. a shared link to a game this root or split does not hold
            sidebar.caption(f":material/info: Game {_quoted(wanted)} is not in this split under this root: "
                            "showing the first one.")
        st.session_state[state.SN_GAME] = games[0].name
    name = sidebar.selectbox(f"Game ({len(games)})", list(by_name), key=state.SN_GAME, format_func=game_title)
    game = _features_ui(by_name[name])
    sidebar.caption(f"`{name}`  \n{_flags(game, saved[name] + len(sources.game_folder_results(game)))}")
    with sidebar.expander("Files of every game"):
        st.dataframe(_files_table(games, saved), hide_index=True, height=260, width="stretch")
    return sources.soccernet_game(game, root)


def _features_ui(game: Game) -> Game:
    """The game with the features picked among the ``1_*.npy`` files of its folder (the first found by
    default); unchanged when it has none."""
    names = sources.feature_names(game)
    if not names:
        return game
    wanted = st.session_state.get(state.SN_FEATURES)
    if wanted not in names:
        if wanted:  # a link or an earlier game named features this folder does not hold
            st.sidebar.caption(f":material/info: Features {_quoted(wanted)} are not in this game's folder: "
                               f"using `{names[0]}`.")
        st.session_state[state.SN_FEATURES] = names[0]
    features = st.sidebar.selectbox(f"Features ({len(names)} in the game folder)", names, key=state.SN_FEATURES,
                                    help="The per-half feature files of this game (1_<name> and 2_<name>) a model "
                                         "runs on.")
    return replace(game, features=features)


def _upload_ui() -> sources.GameData | None:
    sidebar = st.sidebar
    sidebar.caption("Per-half features `(frames, dim)` .npy and/or a label file (Labels-v2.json, Labels-ball.json: "
                    "its class set is recognised). A model's features are read at its rate; without a model, "
                    "at the rate picked under Predictions.")
    first = sidebar.file_uploader("Half 1 features (.npy)", type=["npy"], key=state.upload_half_key(1))
    second = sidebar.file_uploader("Half 2 features (.npy)", type=["npy"], key=state.upload_half_key(2))
    labels = sidebar.file_uploader(f"Labels ({LABELS_FILE}, Labels-ball.json, ...)", type=["json"],
                                   key=state.UPLOAD_LABELS)
    features = {h: (f.name, f.getvalue()) for h, f in ((1, first), (2, second)) if f is not None}
    if not features and labels is None:
        sidebar.info("Upload features and/or labels to start.")
        return None
    return uploads.uploaded_game(features, (labels.name, labels.getvalue()) if labels else None)


def predictions_ui(data: sources.GameData, demo: sources.DemoAssets) -> PredictionChoices:
    """Draw the model and results-file pickers; load the results files (errors collected, not raised)."""
    sidebar = st.sidebar
    choices = PredictionChoices()
    sidebar.header("Predictions")
    own_video = st.session_state.get(state.SOURCE) == SOURCE_VIDEO
    if data.feature_halves and own_video:  # features of a known extractor at 2 fps: the model must match them
        choices.model = your_video.checked_model(_model_ui(demo, choices), data, choices.errors)
        if choices.model is None:
            your_video.train_hint_ui(your_video.features_of(data)[0])
    elif data.feature_halves:
        choices.model = _model_ui(demo, choices)
        if choices.model is None and data.labels is None:  # nothing says the features' rate: the user does
            st.session_state.setdefault(state.FEATURES_FPS, data.framerate)
            sidebar.number_input("Features' frame rate (fps)", min_value=0.5, max_value=100.0, step=0.5,
                                 key=state.FEATURES_FPS, help="Frames per second of these features (SoccerNet: 2, "
                                 "Baidu: 1, Ball Action: 25): the time axis follows it. A model uses its own.")
    else:
        sidebar.caption("This game has no features, so no model can run: load saved predictions below.")
    names: set[str] = set()

    def unique(name: str) -> str:
        base, count = name, 2
        while name in names:
            name, count = f"{base} ({count})", count + 1
        names.add(name)
        return name

    saved = _saved_sets(data)
    if saved:
        key = state.saved_key(data.game.name)
        if key in st.session_state:  # a link may name prediction sets this game does not have
            st.session_state[key] = [m for m in st.session_state[key] if m in saved]
        st.session_state.setdefault(key, list(saved))  # all of them, unless a link or the user chose
        picked = sidebar.multiselect("Saved predictions for this game", list(saved), key=key)
        for model in picked:
            _load(choices, unique(model), lambda p=saved[model]: sources.results_file(p, data.spec))
    paths = sidebar.text_area("Results paths (one per line)", key=state.RESULTS_PATHS, height=68,
                              placeholder="<model>/<game>/results_spotting.json, a model folder or its zip",
                              help="A results_spotting.json, a folder holding <league>/<season>/<game>/"
                                   "results_spotting.json (or the file itself), or a zip of such folders as "
                                   "SoccerNet's baselines write it. A lane is named after the model's folder.")
    for line in (l.strip() for l in paths.splitlines()):
        if line:
            _load(choices, unique(results_name(line, data.game.name) or line),
                  lambda p=line: sources.results_at(typed_path(p, "results file"), data.game, data.spec))
    uploaded = sidebar.file_uploader("Upload results_spotting.json", type=["json"], accept_multiple_files=True,
                                     key=state.RESULTS_UPLOADS)
    for upload in uploaded or []:
        _load(choices, unique(Path(upload.name).stem),
              lambda u=upload: uploads.results_upload(u.name, u.getvalue(), data.spec))
    return choices


def notes_ui(choices: PredictionChoices) -> None:
    """What is unusual in the results files (accepted as SoccerNet's evaluator accepts it, but worth knowing),
    under the pickers that loaded them: the page above the player stays for the game."""
    for note in choices.notes:
        st.sidebar.warning(note, icon=":material/warning:")
    for note in choices.minor_notes:
        st.sidebar.caption(f":material/info: {note}")


def _saved_sets(data: sources.GameData) -> dict[str, str]:
    """``{lane name: results file}``: the predictions root's sets for this game, then results files in the
    game's own folder."""
    found: dict[str, str] = {}
    saved_root = sources.allowed_predictions_root(st.session_state.get(state.SN_ROOT, "")) if data.url_local else None
    if saved_root:
        found.update(sources.saved_predictions(str(saved_root), data.game.name))
    for name, path in sources.game_folder_results(data.game).items():
        found[name if name not in found else f"{name} (game folder)"] = path
    return found


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
    source = st.session_state.get(state.SOURCE, SOURCE_DEMO)
    # The demo model was trained on synthetic features: never offered for a video's real ones.
    modes = ([CKPT_DEMO] if demo.checkpoint and source != SOURCE_VIDEO else []) + [CKPT_BY_PATH, CKPT_BY_UPLOAD]
    # On by default for the demo, and for your video (whose point is a model's events); off for other
    # games: the demo model was trained on synthetic features, not on yours.
    key = state.run_model_key(source)
    st.session_state.setdefault(key, (key == state.RUN_MODEL and bool(demo.checkpoint)) or key == state.RUN_MODEL_VIDEO)
    run = sidebar.toggle("Run a model on the features", key=key)
    if not run:
        return None
    if st.session_state.get(state.CKPT_MODE) not in modes:
        st.session_state[state.CKPT_MODE] = modes[0]
    mode = sidebar.radio("Checkpoint", modes, key=state.CKPT_MODE, horizontal=True, label_visibility="collapsed")
    if mode == CKPT_DEMO:
        return ModelChoice("demo model", demo.checkpoint)
    if mode == CKPT_BY_PATH:
        path = sidebar.text_input("Checkpoint (.pt)", key=state.CKPT_PATH, placeholder="runs/calf/best.pt").strip()
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
    upload = sidebar.file_uploader("Checkpoint (.pt)", type=["pt", "pth", "ckpt"], key=state.CKPT_UPLOAD)
    if upload is None:
        return None
    try:  # loaded here (cached) so that a bad file is named as uploaded, not as its temporary copy
        copy = uploads.save_upload(upload.name, upload.getvalue())
        scoring.check_checkpoint(copy)
    except InputError as error:
        choices.errors.append(error)
        return None
    return ModelChoice(Path(upload.name).stem, copy)
