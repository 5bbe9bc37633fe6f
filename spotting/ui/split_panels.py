"""The split page's panels: per class, per game (filter, links, a click opens the game page) and error
analysis (timing errors, class confusion, PR curves, model A against model B). Each draws what the
cache layer :mod:`spotting.ui.split_sources` computes; :mod:`spotting.ui.split_page` lays them out.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from spotting.results import RESULTS_FILE
from spotting.soccernet import game_title, league_and_season
from spotting.ui import split_figures, split_sources, state
from spotting.ui.split_sources import SplitLabels

GAME_PAGE = "page.py"  # the game page's script, relative to the entry script (spotting/ui/main.py)


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
        shown, key=state.SPLIT_GAMES_TABLE, on_select="rerun", selection_mode=["single-row", "single-cell"], hide_index=True,
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
    st.markdown("**Class confusion**: false alarms within ±δ/2 of a ground truth of another class")
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
