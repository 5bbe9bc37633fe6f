"""The game page's "Your video" source: a video → its features (cached, extracted beside the page) →
a checkpoint trained on the same extractor's features → events on the timeline, over that video.

:func:`video_ui` draws the sidebar fields (a path or an upload, the extractor and what it needs, the
half and its time range) and, until the features exist, the extraction's summary, button and
progress in the main area; it returns the game once they do. :func:`checked_model` refuses a
checkpoint trained on other features (name or dimension), :func:`train_hint_ui` says how to train a
matching one. Slow work and cache keys live in :mod:`spotting.ui.video_features`.
"""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from spotting import features as feature_lib
from spotting.errors import InputError
from spotting.soccernet import Game
from spotting.ui import sources, state, uploads, video_features
from spotting.ui.paths import typed_path
from spotting.ui.video_features import CACHE_SUBDIR, VideoRequest

if TYPE_CHECKING:
    from spotting.ui.sidebar import ModelChoice

EXTRACTORS = {"EfficientNetLite0": "EfficientNetLite0 (offline, 1280-d)",  # the choices, as the sidebar names them
              "ResNET_TF2_PCA512": "ResNET_TF2_PCA512 (SoccerNet's, 512-d)"}
EXTRACTOR_HELP = ("The features a model takes: pick the ones your checkpoint was trained on. EfficientNetLite0 needs "
                  "nothing more (its weights ship with its package): for models trained on your own games. "
                  "ResNET_TF2_PCA512 are SoccerNet's own features (models trained on SoccerNet): ResNet152's ImageNet "
                  "weights and SoccerNet's PCA files, slow on a CPU.")
RANGES = {"half": "one half", "part": "a time range", "match": "a whole match"}  # what the file holds
VIDEO_TYPES = ["mp4", "mkv", "webm", "mov", "m4v", "avi"]


def video_ui() -> sources.GameData | None:
    """The sidebar's video fields; the game once its features exist, else None (the main area then
    shows the extraction: what it will compute, its button, its progress or why it failed)."""
    sidebar = st.sidebar
    sidebar.caption("A match video of your own: its features are computed here once (cached by the video's "
                    "content), then a checkpoint trained on the same extractor's features spots the actions.")
    typed = sidebar.text_input("Video path", key=state.VIDEO_PATH, placeholder="match.mp4 (a half, or a whole match)",
                               help="A video file on this machine (mp4, mkv, webm, mov...).").strip()
    upload = sidebar.file_uploader("…or upload a video", type=VIDEO_TYPES, key=state.VIDEO_UPLOAD)
    if upload is not None:
        video, shown = uploads.save_upload(upload.name, upload.getvalue()), upload.name
    elif typed:
        video, shown = typed_path(typed, "video"), Path(typed).name
    else:  # the main area would be blank: say there what to do and what follows
        sidebar.info("Type a video's path or upload one.")
        st.info("**Your video**: type a video's path or upload one in the sidebar (a half, a time range or a whole "
                "match). The page then says what it will compute; **Extract features** computes them once (cached), "
                "then a checkpoint trained on the same features spots the actions on the timeline, over your "
                "video.", icon=":material/movie:")
        return None
    request = _request_ui(video)
    target = video_features.target(request)  # hashes the video once per file version (a spinner says so)
    if target.is_file():
        return _game(request, shown)
    _extraction_ui(request, shown)
    return None


def _request_ui(video: Path) -> VideoRequest:
    """Extractor, its files, the half and its time range → the request (raises for what is missing)."""
    sidebar = st.sidebar
    st.session_state.setdefault(state.VIDEO_EXTRACTOR, next(iter(EXTRACTORS)))
    extractor = sidebar.selectbox("Extractor", list(EXTRACTORS), key=state.VIDEO_EXTRACTOR, format_func=EXTRACTORS.get,
                                  help=EXTRACTOR_HELP)
    backbone, _ = feature_lib.parse_extractor(extractor)
    if not feature_lib.available()[backbone]:
        raise InputError(None, f"the {extractor} extractor's packages are not installed",
                         "pip install -r requirements-features.txt, then restart the app")
    pca = pca_mean = weights = None
    if extractor.startswith("ResNET_TF2"):
        pca = _path_ui("SoccerNet's PCA (pca_512_TF2.pkl or a converted .npz)", state.VIDEO_PCA)
        pca_mean = _path_ui("SoccerNet's PCA mean (average_512_TF2.pkl)", state.VIDEO_PCA_MEAN)
        weights = _path_ui("ResNet152 ImageNet weights (.h5; empty: Keras' own, downloaded once)", state.VIDEO_WEIGHTS)
        if pca is None:
            raise InputError(None, "the ResNET_TF2_PCA512 extractor needs SoccerNet's PCA files",
                             "get pca_512_TF2.pkl and average_512_TF2.pkl from SoccerNet's feature-extraction code "
                             "and type their paths in the sidebar (README: 'Your own video')")
    left, right = sidebar.columns(2)
    st.session_state.setdefault(state.VIDEO_HALF, 1)
    half = left.segmented_control("Half to extract", (1, 2), key=state.VIDEO_HALF, format_func=lambda h: f"half {h}") or 1
    st.session_state.setdefault(state.VIDEO_RANGE, next(iter(RANGES)))
    kind = right.selectbox("The video holds", list(RANGES), key=state.VIDEO_RANGE, format_func=RANGES.get,
                          help="One half: the file is that half. A time range: the half lies between a start and an "
                               "end of the file. A whole match: both halves, split where the second one starts.")
    start = end = split_at = None
    if kind == "part":
        left, right = sidebar.columns(2)
        start = left.number_input("Half starts at (s)", min_value=0.0, step=1.0, key=state.VIDEO_START)
        end = right.number_input("ends at (s, 0: the end)", min_value=0.0, step=1.0, key=state.VIDEO_END) or None
    elif kind == "match":
        st.session_state.setdefault(state.VIDEO_SPLIT_AT, 2700.0)  # 45:00, a guess the user corrects
        split_at = sidebar.number_input("2nd half starts at (s)", min_value=1.0, step=1.0, key=state.VIDEO_SPLIT_AT)
    return VideoRequest(video, int(half), extractor, start=start or None, end=end, split_at=split_at, pca=pca,
                        pca_mean=pca_mean, weights=weights)


def _path_ui(label: str, key: str) -> Path | None:
    text = st.sidebar.text_input(label, key=key).strip()
    return typed_path(text, "file") if text else None


def _game(request: VideoRequest, shown: str) -> sources.GameData:
    """The cached game folder as the page's game, its video playing the window of each half."""
    folder = video_features.game_dir(request)
    video_features.link_video(request)  # an upload's copy goes with its session: link the current one
    features = f"{request.features_name}.npy"
    game = Game(folder, f"{CACHE_SUBDIR}/{folder.parent.name}/{folder.name}", features=features,
                files=tuple(sorted(p.name for p in folder.iterdir())))
    data = sources.load_game(game, f"{shown} (your video)")
    offsets = tuple((h, offset) for h in data.feature_halves
                    if (offset := replace(request, half=h).video_offset_s()) is not None)
    if st.session_state.get(state.VIDEO_SHOWN) != (str(folder), request.half):  # a new half extracted: show it
        st.session_state[state.VIDEO_SHOWN] = (str(folder), request.half)
        st.session_state[state.HALF] = request.half
    return replace(data, video_offsets=offsets)


def _extraction_ui(request: VideoRequest, shown: str) -> None:
    """What the extraction will do and its button; its progress while it runs; why it failed."""
    running = video_features.job(request)
    if running is not None and not running.finished:
        _progress_ui(request)
        return
    plan = video_features.check(request)  # an undecodable video, a range outside it: InputError at once
    first, duration = plan.ranges[request.half]
    seconds = (plan.info.duration_s - (first or 0.0)) if duration is None else duration
    frames = int(seconds * feature_lib.frames.FPS)
    if running is not None and running.error is not None:
        st.error(str(running.error), icon=":material/error:")
    st.info(f"**{shown}**: {_clock(plan.info.duration_s)} at {plan.info.fps:g} fps, {plan.info.width}×"
            f"{plan.info.height}. Half {request.half} ({_clock(seconds)}) gives about {frames:,} feature frames "
            f"with {request.extractor} ({request.feature_dim}-d), computed once and cached.", icon=":material/movie:")
    if st.button("Extract features", type="primary", key=state.VIDEO_EXTRACT, icon=":material/play_arrow:"):
        video_features.start(request, shown)
        st.rerun()  # the page without the button: the progress only


@st.fragment(run_every=1.0)
def _progress_ui(request: VideoRequest) -> None:
    """The running job's bar (redrawn each second without rerunning the page); the whole page
    reruns once it ends (the features, or its error, are then shown)."""
    running = video_features.job(request)
    if running is None or running.finished:
        st.rerun()
        return
    rate, left = running.frames_per_second, running.seconds_left
    detail = f"{running.done:,} / {running.total:,} frames" if running.total else "loading the extractor…"
    if rate:
        detail += f" · {rate:.1f} frames/s · {_clock(left or 0)} left"
    st.progress(running.fraction, text=f"Extracting {request.extractor} features of **{running.video_name}**, "
                f"half {request.half}: {detail}")
    st.button("Stop", key=state.VIDEO_STOP, on_click=video_features.stop, args=(request,),
              help="Finished batches are kept: Extract goes on from there.")


def _clock(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


def features_of(data: sources.GameData) -> tuple[str, int]:
    """The game's features: their name (``EfficientNetLite0``) and dimension."""
    half = data.feature_halves[0]
    return data.game.features.removesuffix(".npy"), int(data.game.load_features(half).shape[1])


def model_problem(checkpoint: str | Path, shown_name: str, data: sources.GameData) -> InputError | None:
    """Why a checkpoint does not fit the video's features (another name or dimension), None when it does."""
    trained_on, trained_dim = video_features.checkpoint_features(checkpoint)
    name, dim = features_of(data)
    if trained_on == name and trained_dim == dim:
        return None
    if trained_dim != dim:
        why = f"it was trained on {trained_on or 'unnamed'} features ({trained_dim}-d), this video's are {name} ({dim}-d)"
    elif not trained_on:
        return None  # an old checkpoint without a features name: the dimension is all there is to check
    else:
        why = f"it was trained on {trained_on} features, this video's are {name} (both {dim}-d, not the same features)"
    other = f" or pick the {trained_on} extractor for this video" if trained_on in EXTRACTORS else ""
    return InputError(shown_name, f"checkpoint refused: {why}", f"pick a checkpoint trained on {name}{other} "
                      "(the sidebar shows how to train one)")


def checked_model(model: ModelChoice | None, data: sources.GameData, errors: list[InputError]) -> ModelChoice | None:
    """``model`` when it was trained on the video's features; else None, its refusal added to ``errors``."""
    if model is None:
        return None
    try:
        problem = model_problem(model.checkpoint, model.name, data)
    except InputError as error:
        problem = error
    if problem is not None:
        errors.append(problem)
        return None
    return model


def train_command(features: str) -> str:
    """The commands that give a checkpoint for ``features`` (a name such as ``EfficientNetLite0``):
    SoccerNet's own features are downloaded with its games, one training run; other features are
    first extracted from your annotated games with the same extractor."""
    out = f"runs/{features}"
    if features == feature_lib.DEFAULT_EXTRACTOR:
        return f"python -m spotting.train --soccernet-dir $SOCCERNET_DIR --features {features}.npy --out {out}"
    pca = " --pca mine/pca.npz" if "_PCA" in features else ""  # the PCA fitted on your games (README)
    return (f"python -m spotting.features --video videos/game1.mp4 --out mine/game1 --split-at 2810 "
            f"--extractor {features}{pca}\n"
            f"python -m spotting.train --soccernet-dir mine --features {features}.npy --train-split all "
            f"--valid-split {shlex.quote('')} --out {out}")


def train_hint_ui(features: str) -> None:
    """Without a matching checkpoint: what to train and how, under the checkpoint fields."""
    sidebar = st.sidebar
    if features == feature_lib.DEFAULT_EXTRACTOR:
        sidebar.caption(f"No checkpoint for {features} features? Train one on SoccerNet's games (their features "
                        "are SoccerNet's own), then pick its `best.pt` above:")
    else:
        sidebar.caption(f"No checkpoint for {features} features? Extract them from each of your annotated games "
                        f"(a folder with its Labels-v2.json; `--split-at`: where its 2nd half starts), train, then "
                        f"pick `runs/{features}/best.pt` above:")
    sidebar.code(train_command(features), language="bash", wrap_lines=True)
