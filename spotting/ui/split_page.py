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
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a page script by st.navigation
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np
import pandas as pd
import streamlit as st

from spotting.errors import InputError
from spotting.postprocess import per_class_values
from spotting.results import RESULTS_FILE
from spotting.soccernet import game_title, league_and_season
from spotting.specs import SOCCERNET_V2, Specifications
from spotting.ui import sources, split_figures, split_sources, state
from spotting.ui.paths import typed_path
from spotting.ui.sidebar import split_ui
from spotting.ui.split_sources import ModelSpec, SplitLabels

GAME_PAGE = "page.py"  # the game page's script, relative to the entry script (spotting/ui/main.py)


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
        if model.warnings:
            with st.expander(f"**{spec.name}**: {len(model.warnings)} file(s) with unusual predictions, counted as "
                             "SoccerNet's evaluate() counts them", icon=":material/info:"):
                st.text("\n".join(model.warnings))


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


def per_class_ui(models, split: SplitLabels) -> None:
    names = [spec.name for spec, _ in models]
    m1, m2 = split.metrics
    first = [split_sources.overall(spec, split, model, m1).a_mAP_per_class for spec, model in models]
    second = [split_sources.overall(spec, split, model, m2).a_mAP_per_class for spec, model in models]
    table = pd.DataFrame({"class": split.spec.classes})
    for name, l, t in zip(names, first, second):
        table[f"{name} {m1}"] = 100 * l
        table[f"{name} {m2}"] = 100 * t
    if len(models) >= 2:
        table[f"Δ {m1} ({names[1]} − {names[0]})"] = 100 * (first[1] - first[0])
        table[f"Δ {m2} ({names[1]} − {names[0]})"] = 100 * (second[1] - second[0])
    st.dataframe(table, hide_index=True, width="stretch", height=38 + 35 * split.spec.num_classes,
                 column_config={c: st.column_config.NumberColumn(format="%.1f") for c in table.columns if c != "class"})
    st.plotly_chart(split_figures.per_class_bars(names, first, second, split.spec.classes, (m1, m2)), width="stretch")


def per_game_table(models, split: SplitLabels, matches, thresholds: np.ndarray, a: int, b: int | None) -> pd.DataFrame:
    leagues, seasons = zip(*(league_and_season(g) for g in split.games)) if split.games else ((), ())
    table = pd.DataFrame({"name": split.games, "game": [game_title(g) for g in split.games], "league": leagues,
                          "season": seasons, "labels": [int(len(l)) for l in split.labels]})
    m1, m2 = split.metrics
    for (spec, model), match in zip(models, matches):
        evaluated = model.evaluated
        first = split_sources.per_game(spec, split, model, m1).a_mAP
        second = split_sources.per_game(spec, split, model, m2).a_mAP
        counts = match.counts(thresholds)
        table[f"{spec.name} {m1}"] = np.where(evaluated, 100 * first, np.nan)
        table[f"{spec.name} {m2}"] = np.where(evaluated, 100 * second, np.nan)
        # Nullable integers: a game without a results file shows blank (and an empty CSV cell), never -1.
        table[f"{spec.name} pred."] = pd.Series([len(p) for p in model.predictions], dtype="Int64").where(evaluated)
        for column, values in (("TP", counts.tp), ("FP", counts.fp), ("FN", counts.fn)):
            table[f"{spec.name} {column}"] = pd.Series(values.sum(axis=1), dtype="Int64").where(evaluated)
    name_a = models[a][0].name
    if b is not None:
        name_b = models[b][0].name
        table[f"Δ {m1} ({name_b} − {name_a})"] = table[f"{name_b} {m1}"] - table[f"{name_a} {m1}"]
    # Figures first (loose of every model, the difference, tight), counts after, where to find the game last.
    names = [spec.name for spec, _ in models]
    order = (["name", "game", "labels"] + [f"{n} {m1}" for n in names] + [c for c in table.columns if c.startswith("Δ")]
             + [f"{n} {m2}" for n in names] + [f"{n} {c}" for n in names for c in ("pred.", "TP", "FP", "FN")]
             + ["league", "season"])
    return table[order].sort_values(f"{name_a} {m1}", kind="stable", na_position="last", ignore_index=True)


def game_link(name: str, split: str, threshold: float, tolerance: int, class_thresholds: dict[int, float],
              saved_models: list[str]) -> str:
    """The game page's URL for one game with this view (a link anyone can open)."""
    params = {"src": "soccernet", "split": split, "game": name, **state.shared_url(threshold, tolerance, class_thresholds)}
    if saved_models:
        params["pred"] = ",".join(saved_models)
    return "/?" + urlencode(params)


def open_game(name: str, models) -> None:
    """Show ``name`` on the game page with the same prediction sets (threshold, δ and classes are shared)."""
    saved = [spec.name for spec, _ in models if spec.saved]
    others = [spec for spec, _ in models if not spec.saved]
    st.session_state[state.SOURCE] = state.SOURCE_SOCCERNET
    st.session_state[state.SN_GAME] = name
    st.session_state[state.saved_key(name)] = saved
    st.session_state[state.RESULTS_PATHS] = "\n".join(str(Path(s.directory) / name / RESULTS_FILE) for s in others)
    st.session_state[state.HALF] = 1
    st.session_state[state.TIME_S] = 0.0
    st.switch_page(GAME_PAGE)


def per_game_ui(models, split: SplitLabels, matches, thresholds, split_name: str, threshold: float, tolerance: int,
                class_thresholds: dict[int, float]) -> tuple[int, int | None]:
    names = [spec.name for spec, _ in models]
    left, right = st.columns(2)
    a = left.selectbox(f"Model A (sorted by its {split.metrics[0]} Average-mAP, worst first)", range(len(names)),
                       format_func=names.__getitem__, key=state.SPLIT_MODEL_A)
    b = None
    if len(names) >= 2:
        others = [i for i in range(len(names)) if i != a]  # B is never A: a model compared with itself says nothing
        if st.session_state.get(state.SPLIT_MODEL_B) not in others:
            st.session_state[state.SPLIT_MODEL_B] = others[0]
        b = right.selectbox("Model B (compared with A)", others, format_func=names.__getitem__,
                            key=state.SPLIT_MODEL_B)
    table = per_game_table(models, split, matches, thresholds, a, b)
    f1, f2, f3 = st.columns([1.2, 1.2, 1.6])
    for key, column in ((state.SPLIT_LEAGUES, "league"), (state.SPLIT_SEASONS, "season")):  # a link may name others
        if key in st.session_state:
            st.session_state[key] = [v for v in st.session_state[key] if v in set(table[column])]
    leagues = f1.multiselect("League", sorted(set(table["league"])), key=state.SPLIT_LEAGUES, placeholder="All leagues")
    seasons = f2.multiselect("Season", sorted(set(table["season"])), key=state.SPLIT_SEASONS, placeholder="All seasons")
    text = f3.text_input("Game contains", key=state.SPLIT_TEXT, placeholder="e.g. Barcelona").strip().lower()
    keep = np.ones(len(table), bool)
    if leagues:
        keep &= table["league"].isin(leagues).to_numpy()
    if seasons:
        keep &= table["season"].isin(seasons).to_numpy()
    if text:
        keep &= table["game"].str.lower().str.contains(text, regex=False).to_numpy()
    shown = table[keep].reset_index(drop=True)
    saved = [spec.name for spec, _ in models if spec.saved]
    shown.insert(1, "link", [game_link(n, split_name, threshold, tolerance, class_thresholds, saved) for n in shown["name"]])
    st.caption(f"{len(shown)} of {len(table)} games · click a game to open it on the game page "
               "(same prediction sets, threshold and δ), or use its link to share it · blank: no results file")
    number = {c: st.column_config.NumberColumn(format="%.1f") for c in shown.columns if c.endswith(split.metrics)
              or c.startswith("Δ")}
    selection = st.dataframe(
        shown, key="split_games", on_select="rerun", selection_mode=["single-row", "single-cell"], hide_index=True,
        width="stretch",
        height=min(560, 38 + 35 * max(len(shown), 1)), column_order=[c for c in shown.columns if c != "name"],
        column_config={**number, "link": st.column_config.LinkColumn("link", display_text="open ↗", width="small"),
                       "game": st.column_config.TextColumn("game", width="large")})
    st.download_button("Download this table (CSV)", shown.drop(columns=["link"]).to_csv(index=False).encode("utf-8"),
                       file_name=f"{split_name.replace(' ', '_')}_per_game.csv", mime="text/csv")
    # A click on any cell of a row opens its game, as does the row's box.
    rows = [*selection.selection.rows, *(row for row, _ in selection.selection.cells)] if selection is not None else []
    if rows and 0 <= rows[0] < len(shown):
        open_game(str(shown["name"].iloc[rows[0]]), models)
    return a, b


def errors_ui(models, split: SplitLabels, matches, thresholds, tolerance: int, a: int, b: int | None) -> None:
    names = [spec.name for spec, _ in models]
    spec = split.spec
    st.session_state[state.SPLIT_CLASSES] = [n for n in st.session_state.get(state.SPLIT_CLASSES, []) if n in spec.class_index]
    chosen = st.multiselect("Classes", spec.classes, key=state.SPLIT_CLASSES, placeholder=f"All {spec.num_classes} classes")
    classes = [spec.class_index[c] for c in chosen] or list(range(spec.num_classes))
    wanted = np.zeros(spec.num_classes, bool)
    wanted[classes] = True
    st.markdown(f"**Timing error** of matched predictions at δ = {tolerance} s (why loose and tight differ)")
    errors = []
    for match in matches:
        class_index, error_s = match.timing_errors(thresholds)
        errors.append(error_s[wanted[class_index]])
    st.plotly_chart(split_figures.timing_histogram(names, errors, tolerance), width="stretch")
    st.markdown(f"**Class confusion**: false alarms within ±δ/2 of a ground truth of another class")
    # Side by side while the cells stay readable; one under the other for many classes.
    columns = st.columns(min(2, len(models))) if len(classes) <= 8 else [st.container() for _ in matches[:2]]
    for index, match in enumerate(matches[:2]):
        columns[index].plotly_chart(split_figures.confusion_heatmap(names[index], match.class_confusion(thresholds),
                                                                    classes, spec.classes), width="stretch")
    options = [spec.classes[c] for c in classes]
    if st.session_state.get(state.SPLIT_PR_CLASS) not in options:
        st.session_state.pop(state.SPLIT_PR_CLASS, None)
    pr_class = st.selectbox("PR curve of", options, key=state.SPLIT_PR_CLASS)
    curves = []
    for match in matches:
        _, precision, recall = match.pr_curves()  # official thresholds, pooled over the split's games
        r, q = recall[:, spec.class_index[pr_class]], precision[:, spec.class_index[pr_class]]
        defined = (q > 0) | (r > 0)  # thresholds above every prediction give 0/0 (drawn as a false start at 0, 0)
        curves.append((r[defined], q[defined]))
    st.plotly_chart(split_figures.pr_figure(names, curves, f"{pr_class} at δ = {tolerance} s"), width="stretch")
    if b is not None:
        titles = [game_title(g) for g in split.games]
        m1 = split.metrics[0]
        per_a = split_sources.per_game(models[a][0], split, models[a][1], m1).a_mAP
        per_b = split_sources.per_game(models[b][0], split, models[b][1], m1).a_mAP
        both = models[a][1].evaluated & models[b][1].evaluated
        st.markdown(f"**Per game**: {names[a]} against {names[b]} ({m1} Average-mAP; above the diagonal: B better)")
        left, right = st.columns([1.1, 1])
        left.plotly_chart(split_figures.game_scatter(names[a], names[b], per_a[both], per_b[both],
                                                     [t for t, k in zip(titles, both) if k]), width="stretch")
        better = int((per_b[both] > per_a[both]).sum())
        right.markdown(f"{names[b]} is better on **{better}** of {int(both.sum())} games, {names[a]} on "
                       f"**{int((per_a[both] > per_b[both]).sum())}**. The games furthest from the diagonal are "
                       "where one model fails and the other does not: sort the *Per game* table by its Δ column.")


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
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f", width="small") for c in table.columns
                                if c not in ("model", "games", "TP", "FP", "FN")})
    games_tab, classes_tab, errors_tab = st.tabs(["Per game", "Per class", "Error analysis"], key="split_tab",
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
