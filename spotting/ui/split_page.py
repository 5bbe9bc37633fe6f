"""The split page: a whole split, several prediction sets, and where each one fails.

Overall official Average-mAP (loose / tight, visible / unshown: threshold-free, equal to SoccerNet's
``evaluate()``) and precision / recall / F1 at the page's threshold and δ; per class; per game (worst
first, filterable, a click opens the game on the game page with the same view); error analysis
(timing errors, class confusion, PR curves, model A against model B). Composes
:mod:`spotting.analysis` through the cache layer :mod:`spotting.ui.split_sources` and draws.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a page script by st.navigation
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import pandas as pd
import streamlit as st

from spotting.errors import InputError
from spotting.postprocess import per_class_values
from spotting.results import note_kinds
from spotting.soccernet import game_title
from spotting.specs import SOCCERNET_V2, Specifications
from spotting.ui import sources, split_sources, state
from spotting.ui.split_panels import errors_ui, per_class_ui, per_game_ui
from spotting.ui.paths import typed_path
from spotting.ui.sidebar import split_ui
from spotting.ui.split_sources import ModelSpec, SplitLabels



def inputs_ui() -> tuple[str, str, list[ModelSpec], bool]:
    """Sidebar: root, split, prediction sets (saved ones, folders, a checkpoint run); returns them."""
    sidebar = st.sidebar
    sidebar.header("Split")
    st.session_state.setdefault(state.SN_ROOT, sources.default_soccernet_root())
    root = sidebar.text_input("SoccerNet root", key=state.SN_ROOT,
                              help="Folder holding <league>/<season>/<game>/Labels-v2.json (defaults to $SOCCERNET_DIR).").strip()
    if root:
        try:
            root = str(typed_path(root, "SoccerNet root"))
        except InputError as error:
            st.error(str(error), icon=":material/error:")
            root = ""
    split = split_ui(root)
    sidebar.header("Prediction sets")
    saved_root = sources.allowed_predictions_root(root) if root else None
    saved = sorted(p.name for p in saved_root.iterdir() if p.is_dir()) if saved_root else []
    specs: list[ModelSpec] = []
    if saved:
        if state.SPLIT_MODELS not in st.session_state:
            st.session_state[state.SPLIT_MODELS] = saved
        st.session_state[state.SPLIT_MODELS] = [m for m in st.session_state[state.SPLIT_MODELS] if m in saved]
        picked = sidebar.multiselect(f"Saved under {saved_root}", saved, key=state.SPLIT_MODELS)
        specs += [ModelSpec(name, str(saved_root / name), saved=True) for name in picked]
    folders = sidebar.text_area("Other prediction folders (one per line)", key=state.SPLIT_DIRS, height=68,
                                placeholder="/path/to/model  (holding <league>/<season>/<game>/results_spotting.json)")
    names = {s.name for s in specs}
    for line in (l.strip() for l in folders.splitlines()):
        if line:
            try:
                line = str(typed_path(line, "prediction folder"))
            except InputError as error:
                st.error(str(error), icon=":material/error:")
                continue
            name, k = Path(line).name or line, 2
            while name in names:
                name, k = f"{Path(line).name}-{k}", k + 1
            names.add(name)
            specs.append(ModelSpec(name, line))
    missing_as_empty = sidebar.checkbox("Count missing files as empty", key=state.SPLIT_MISSING_EMPTY,
                                        help="A game without a results file then counts as a game with no "
                                             "predictions (all its events missed), as --missing-as-empty does.")
    with sidebar.expander("Run a checkpoint on every game"):
        checkpoint = st.text_input("Checkpoint (.pt)", key=state.SPLIT_CHECKPOINT, placeholder="runs/calf/best.pt").strip()
        if checkpoint and root:
            specs.append(_checkpoint_ui(checkpoint, root, split))
    return root, split, specs, missing_as_empty


def _checkpoint_ui(checkpoint: str, root: str, split: str) -> ModelSpec:
    try:
        checkpoint = str(typed_path(checkpoint, "checkpoint"))
    except InputError as error:
        st.error(str(error), icon=":material/error:")
        return ModelSpec(Path(checkpoint).stem, "")
    bar = st.progress(0.0, text="Spotting every game…")
    try:
        spec, skipped = split_sources.run_checkpoint(
            checkpoint, root, split, lambda done, total, name: bar.progress(done / max(total, 1),
                                                                            text=f"{done}/{total} {game_title(name)}"))
    except InputError as error:
        bar.empty()
        st.error(str(error), icon=":material/error:")
        return ModelSpec(Path(checkpoint).stem, "")
    bar.empty()
    if not Path(spec.directory).is_dir():  # no game of the split had the checkpoint's features
        st.error(f"None of the {len(skipped)} game(s) of this split has the features this checkpoint was trained on, "
                 "so it ran on none. Extract them (python -m spotting.features) or pick another split.",
                 icon=":material/error:")
        return ModelSpec(spec.name, "")
    st.caption(f"Results cached under `{spec.directory}` (keyed by the checkpoint's content)."
               + (f" {len(skipped)} game(s) lack its features and are missing." if skipped else ""))
    return spec


def class_overrides(spec: Specifications) -> dict[int, float]:
    """The per-class thresholds in force, ``{class index of spec: threshold}`` (the game page's state keys)."""
    if spec.classes == SOCCERNET_V2.classes:
        return state.class_thresholds()
    return {spec.class_index[name]: float(st.session_state.get(state.class_threshold_key(name), 0.0))
            for name in st.session_state.get(state.OVERRIDE_CLASSES, []) if name in spec.class_index}


def controls_ui(spec: Specifications = SOCCERNET_V2) -> tuple[float, dict[int, float], int]:
    """Threshold, δ and per-class thresholds (classes of ``spec``): the same controls and state as on the game page."""
    st.session_state.setdefault(state.THRESHOLD, state.DEFAULT_THRESHOLD)
    st.session_state.setdefault(state.TOLERANCE, state.DEFAULT_TOLERANCE)
    left, right = st.columns(2)
    threshold = left.slider("Confidence threshold", 0.0, 1.0, step=0.01, key=state.THRESHOLD,
                            help="For precision, recall, F1, TP/FP/FN and the error analysis. Average-mAP is "
                                 "threshold-free (SoccerNet's 200 thresholds).")
    tolerance = right.select_slider("Match tolerance δ (s)", state.TOLERANCES_S, key=state.TOLERANCE,
                                    help="A prediction matches a ground truth within ±δ/2 (SoccerNet).")
    with st.expander("Per-class thresholds"):
        st.session_state[state.OVERRIDE_CLASSES] = [n for n in st.session_state.get(state.OVERRIDE_CLASSES, [])
                                                    if n in spec.class_index]
        chosen = st.multiselect("Override the threshold of", spec.classes, key=state.OVERRIDE_CLASSES)
        slots = st.columns(4)
        for position, name in enumerate(chosen):
            st.session_state.setdefault(state.class_threshold_key(name), threshold)
            slots[position % 4].slider(name, 0.0, 1.0, step=0.01, key=state.class_threshold_key(name))
    return float(threshold), class_overrides(spec), int(tolerance)


def _load(specs: list[ModelSpec], split: SplitLabels, missing_as_empty: bool):
    models = []
    for spec in specs:
        if not spec.directory:
            continue
        try:
            models.append((spec, split_sources.model_predictions(spec, split, missing_as_empty)))
        except InputError as error:
            st.error(str(error), icon=":material/error:")
    return models


def problems_ui(models) -> None:
    """Per model: missing files listed by name, unreadable files named, unusual files counted."""
    for spec, model in models:
        evaluated = int(model.evaluated.sum())
        if evaluated == 0:
            st.warning(f"**{spec.name}**: no readable results file for any game of this split — left out of the "
                       "figures.", icon=":material/warning:")
        elif model.missing and not model.missing_as_empty:
            unreadable = f", {len(model.unreadable)} unreadable" if model.unreadable else ""
            with st.expander(f"**{spec.name}**: evaluated on {evaluated} of {len(model.games)} games "
                             f"({len(model.missing)} without results{unreadable}) — its figures are not comparable "
                             "with a model scored on every game; tick 'Count missing files as empty' to count "
                             "them as all missed", icon=":material/warning:"):
                st.text("\n".join(model.missing))
        elif model.missing:
            st.caption(f"**{spec.name}**: {len(model.missing)} game(s) without results counted as empty.")
        for error in model.errors[:5]:
            st.error(error, icon=":material/error:")
        if len(model.errors) > 5:
            st.error(f"{spec.name}: {len(model.errors) - 5} more unreadable file(s)", icon=":material/error:")
        kinds = note_kinds(model.notes)
        unusual = [line for line, about_game_time in kinds if not about_game_time]
        if unusual:  # what is unusual, by kind, in the label; each file's line inside
            with st.expander(f"**{spec.name}**: {len(model.warnings)} file(s) with unusual predictions, counted as "
                             f"SoccerNet's evaluate() counts them — {'; '.join(unusual)}", icon=":material/info:"):
                st.text("\n".join(model.warnings))
        game_times = [line for line, about_game_time in kinds if about_game_time]
        if game_times:  # evaluate() never reads gameTime: a line, not an alarm (as on the game page)
            st.caption(f":material/info: {spec.name}: {'; '.join(game_times)} (half and position are used, "
                       "as by evaluate())")


def overall_table(models, split: SplitLabels, matches, thresholds: np.ndarray) -> pd.DataFrame:
    """One row per model: the split's two Average-mAP variants (``split.metrics``: loose / tight, or the set's
    own and tight), with visible / unshown, and P / R / F1 / TP / FP / FN at the thresholds."""
    rows = []
    m1, m2 = split.metrics
    for (spec, model), match in zip(models, matches):
        first = split_sources.overall(spec, split, model, m1)
        second = split_sources.overall(spec, split, model, m2)
        counts = match.counts(thresholds)
        # Over the games the model is scored on only: a game without a results file is not a game of misses
        # unless the user says so (then it is among the evaluated games, its labels all FN).
        tp, fp, fn = (int(values[model.evaluated].sum()) for values in (counts.tp, counts.fp, counts.fn))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
        rows.append({"model": spec.name, "games": int(model.evaluated.sum()),
                     m1: 100 * first.a_mAP, f"{m1} vis.": 100 * first.a_mAP_visible,
                     f"{m1} unsh.": 100 * first.a_mAP_unshown, m2: 100 * second.a_mAP,
                     f"{m2} vis.": 100 * second.a_mAP_visible, f"{m2} unsh.": 100 * second.a_mAP_unshown,
                     "P": 100 * precision, "R": 100 * recall, "F1": 100 * f1, "TP": tp, "FP": fp, "FN": fn})
    return pd.DataFrame(rows)


def overall_columns(table: pd.DataFrame) -> dict:
    """Column widths of the overall table: its 13 columns fit a 1366-px screen's main area (about 900 px;
    75-px columns cut FP and FN off there); wider screens share the rest out evenly."""
    counts, percents = ("games", "TP", "FP", "FN"), ("P", "R", "F1")
    columns = {c: st.column_config.NumberColumn(width=56 if c in counts else 50 if c in percents else 70,
                                                format="%d" if c in counts else "%.1f" if c in percents else "%.2f")
               for c in table.columns if c != "model"}
    return {"model": st.column_config.TextColumn(width=100), **columns}  # a long folder name: in full above


_VIEW_PARAMS = ((state.Q_DIRS, state.SPLIT_DIRS), (state.Q_LEAGUE, state.SPLIT_LEAGUES),
                (state.Q_SEASON, state.SPLIT_SEASONS), (state.Q_TEXT, state.SPLIT_TEXT))


def restore_split_view() -> None:
    """On a session's first visit, the split page's own view from the link: folders typed by path (one per
    comma) and the per-game filters. The shared parts (threshold, δ, split, models) come from state.py."""
    if st.session_state.get(state.SPLIT_RESTORED):
        return
    st.session_state[state.SPLIT_RESTORED] = True
    params = st.query_params
    for param, key in _VIEW_PARAMS:
        value = params.get(param, "")
        if not value or key in st.session_state:
            continue
        items = [item for item in value.split(",") if item][:50]
        if key == state.SPLIT_DIRS:
            st.session_state[key] = "\n".join(items)
        elif key == state.SPLIT_TEXT:
            st.session_state[key] = value[:100]
        else:
            st.session_state[key] = items


def main() -> None:
    started = time.perf_counter()
    st.set_page_config(page_title="Split explorer · Action Spotting Studio", page_icon="⚽", layout="wide")
    state.restore_from_url()
    restore_split_view()
    root, split_name, specs, missing_as_empty = inputs_ui()
    st.markdown("### Split explorer")
    st.caption("A whole split, several prediction sets: official Average-mAP (threshold-free, equal to SoccerNet's "
               "evaluate()), where each model fails, and each game one click away.")
    if not root:
        st.info("Type the folder of your SoccerNet data in the sidebar (or set SOCCERNET_DIR).")
        return
    try:
        split = split_sources.split_labels(root, split_name)
    except InputError as error:
        st.error(str(error), icon=":material/error:")
        return
    threshold, class_thresholds, tolerance = controls_ui(split.spec)
    thresholds = per_class_values(threshold, class_thresholds, split.spec.num_classes)
    models = _load(specs, split, missing_as_empty)
    v2 = split.spec.classes == SOCCERNET_V2.classes  # the URL names classes as SoccerNet-v2's
    url = {"split": split_name, **state.shared_url(threshold, tolerance, class_thresholds if v2 else {})}
    if st.session_state.get(state.SPLIT_MODELS):
        url["models"] = ",".join(st.session_state[state.SPLIT_MODELS])
    # Folders typed by path and the per-game filters are part of the view a link shares.
    for param, key in _VIEW_PARAMS:
        value = st.session_state.get(key)
        if value:
            url[param] = ",".join(value) if isinstance(value, list) else \
                ",".join(line.strip() for line in str(value).splitlines() if line.strip())
    state.mirror_to_url(url)
    if split.spec.name != SOCCERNET_V2.name:
        st.caption(f"Class set: {split.spec.describe()}, recognised from the label files; figures as SoccerNet's "
                   f"evaluate() gives them at {split.spec.framerate:g} fps ({' and '.join(split.metrics)}).")
    if not models:
        st.info(f"{len(split.games)} games with labels. Pick prediction sets in the sidebar: saved ones, folders, "
                "or a checkpoint to run on every game.")
        return
    problems_ui(models)
    models = [(spec, model) for spec, model in models if model.evaluated.any()]  # none readable: said above
    if not models:
        return
    matches = [split_sources.split_match(spec, split, model, tolerance) for spec, model in models]
    st.markdown(f"**Overall** — {len(split.games)} games of `{split_name}` · precision / recall / F1 and TP/FP/FN at "
                f"threshold {threshold:.2f}" + (" (per-class overrides)" if class_thresholds else "")
                + f", δ = {tolerance} s")
    table = overall_table(models, split, matches, thresholds)
    m1, m2 = split.metrics
    for row in table.to_dict("records"):  # the headline figures as text: read at a glance, in a demo too
        st.markdown(f"**{row['model']}** — Average-mAP {m1} **{row[m1]:.2f}** · {m2} **{row[m2]:.2f}** "
                    f"&nbsp;·&nbsp; F1 {row['F1']:.1f} (precision {row['P']:.1f}, recall {row['R']:.1f}) "
                    f"on {row['games']} games")
    st.dataframe(table, hide_index=True, width="stretch", column_config=overall_columns(table))
    games_tab, classes_tab, errors_tab = st.tabs(["Per game", "Per class", "Error analysis"], key=state.SPLIT_TAB,
                                                 on_change="rerun")
    a, b = 0, (1 if len(models) > 1 else None)
    if games_tab.open:
        with games_tab:
            a, b = per_game_ui(models, split, matches, thresholds, split_name, threshold, tolerance, class_thresholds)
    if classes_tab.open:
        with classes_tab:
            per_class_ui(models, split)
    if errors_tab.open:
        with errors_tab:
            a = int(st.session_state.get(state.SPLIT_MODEL_A, 0)) % len(models)
            b = int(st.session_state.get(state.SPLIT_MODEL_B, 1)) % len(models) if len(models) > 1 else None
            errors_ui(models, split, matches, thresholds, tolerance, a, b if b != a else None)
    if os.environ.get("STUDIO_TIMING"):  # benchmarks read this line from the server log
        print(f"studio: split page run {1000 * (time.perf_counter() - started):.0f} ms, ended at {time.time():.2f}",
              file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
