"""Panels around the player: counts, jumps, "now", the event table, metrics and exports."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import streamlit as st

from spotting.postprocess import per_class_values
from spotting.results import results_dict
from spotting.soccernet import CLASSES, Annotations
from spotting.specs import SOCCERNET_V2, Specifications
from spotting.ui import state
from spotting.ui.events import (GROUND_TRUTH, FilteredEvents, SourceEvents, download_name, events_csv, events_table,
                                neighbour, plural)
from spotting.ui.figures import Curve, clock, pr_curve_figure
from spotting.ui.sources import GameData

NEAR_S = 10.0


def request_seek(seconds: float) -> None:
    """Ask the player to seek (a new counter makes the component act even on the same time twice)."""
    counter = st.session_state.get(state.SEEK, (0, 0.0))[0] + 1
    st.session_state[state.SEEK] = (counter, float(seconds))
    st.session_state[state.TIME_S] = float(seconds)


def jump(targets: list[tuple[int, float]], direction: int, owners: dict[int, str]) -> None:
    """The ‹ / › buttons' callback: seek to the previous / next target, in the other half when it lies
    there (the half switches and keeps the target's time: ``owners`` names each half's clock)."""
    half = int(st.session_state.get(state.HALF, 1) or 1)
    target = neighbour(targets, half, float(st.session_state.get(state.TIME_S, 0.0)), direction)
    if target is None:
        return
    if target[0] != half:
        st.session_state[state.HALF] = target[0]
        st.session_state[state.TIME_OWNER] = owners[target[0]]
    request_seek(target[1])


def summary_ui(data: GameData, shown: Sequence[SourceEvents], half: int) -> None:
    """One line of counts for the half: ground truth, and each source's events (with correct / false alarms)."""
    parts = []
    if data.labels is not None:
        parts.append(f"**{int((data.labels.half == half).sum())}** ground-truth events")
    for source in shown:
        in_half = source.events.half == half
        text = f"**{source.name}** {plural(int(in_half.sum()), 'event')}"
        if source.matched is not None:
            tp = int((source.matched & in_half).sum())
            missed = int(((~source.label_matched) & (data.labels.half == half)).sum())
            text += (f" ({tp} correct, {plural(int(in_half.sum()) - tp, 'false alarm')}, "
                     f"{missed} missed)")
        parts.append(text)
    if not shown:
        parts.append("no predictions loaded — run a model or add a results file in the sidebar")
    duration = data.half_durations_s[half]
    st.caption(f"{data.title} · half {half} · {clock(duration)} long · " + " · ".join(parts))


def now_ui(now_s: float, shown: Sequence[SourceEvents], labels: Annotations | None, half: int,
           curves: Sequence[Curve], class_names: Sequence[str] = CLASSES) -> None:
    """Events within ±10 s of the playhead and the shown curves' values there (classes named by ``class_names``)."""
    nearby = []
    for name, events in [(GROUND_TRUTH, labels)] * (labels is not None) + [(s.name, s.events) for s in shown]:
        seconds = events.position_ms / 1000.0
        near = (events.half == half) & (np.abs(seconds - now_s) <= NEAR_S)
        for i in np.flatnonzero(near):
            conf = "" if name == GROUND_TRUTH else f" {events.confidence[i]:.2f}"
            nearby.append(f"{class_names[events.class_index[i]]} at {clock(seconds[i])} ({name}{conf})")
    values = [f"{class_names[c.class_index]} {np.interp(now_s, c.times_s, c.values):.2f}" for c in curves]
    text = f"**Now {clock(now_s)}** — " + ("; ".join(nearby) if nearby else "no event within ±10 s")
    if values:
        text += " · curves: " + ", ".join(values)
    st.caption(text)


def details_ui(data: GameData, shown: Sequence[SourceEvents], tolerance: int, threshold: float,
               class_thresholds: dict[int, float]) -> None:
    # Lazy tabs: only the open one runs, so metrics and the PR chart cost nothing until asked for.
    st.session_state.setdefault(state.DETAILS_TAB, state.TABS[0])
    metrics_tab, export_tab = st.tabs(list(state.TABS), key=state.DETAILS_TAB, on_change="rerun")
    if metrics_tab.open:
        with metrics_tab:
            metrics_ui(data, shown, tolerance, per_class_values(threshold, class_thresholds, data.spec.num_classes))
    if export_tab.open:
        with export_tab:
            export_ui(data, shown)


def table_ui(data: GameData, shown: Sequence[SourceEvents], kept: FilteredEvents, half: int,
             classes: Sequence[int], height: int) -> None:
    """The events the filter keeps in this half and the classes on the timeline; a click on a row seeks there."""
    include_labels = data.labels is not None and st.toggle("Ground truth rows", key=state.TABLE_LABELS,
                                                           help="List the ground truth too, with who found it.")
    table = events_table(shown, data.labels, half, classes, include_labels=include_labels, kept=kept,
                         class_names=data.spec.classes)
    key, seconds = state.events_table_key(half), table["seconds"].tolist()
    several = len(shown) > 1
    table["result"] = _results_column(table, several)
    # Cell selection only (no checkbox column): a click on any cell seeks. Four narrow columns, so the
    # list fits beside the player on a 1366 px screen; "result" says which source and what happened.
    st.dataframe(
        table, key=key, on_select=lambda: _seek_to_row(key, seconds), selection_mode="single-cell",
        hide_index=True, width="stretch", height=max(120, min(height, 38 + 35 * max(len(table), 1))),
        column_order=["time", "class", "confidence", "result"],
        column_config={"time": st.column_config.TextColumn("time", width=50),
                       "class": st.column_config.TextColumn("class", width=122),
                       "confidence": st.column_config.NumberColumn("conf.", format="%.2f", width=46),
                       "result": st.column_config.TextColumn("source · result" if several else "result")})
    st.caption(f"{plural(len(table), 'row')} in half {half}: a click on a row seeks there; a click on a header sorts.")


def _results_column(table: pd.DataFrame, several: bool) -> pd.Series:
    """What the list shows of a row's source and status, short: "✓ correct", "✗ netvlad_v2" (with several
    sources the name and ✓ / ✗), ground truth as "GT · found by A · missed by B"."""
    status = table["status"].astype(str)
    mark = status.str.slice(0, 1)
    prediction = np.where(status.str.startswith("✓"), "✓ correct", np.where(status.str.startswith("✗"), "✗ false alarm",
                                                                               status))
    if several:
        prediction = np.where(mark.isin(["✓", "✗"]), mark + " " + table["source"].astype(str), table["source"].astype(str))
    return pd.Series(np.where(table["source"] == GROUND_TRUTH, "GT · " + status, prediction), index=table.index)


def _seek_to_row(key: str, seconds: list[float]) -> None:
    """A click on a table cell: seek to its row's time, then clear the selection.

    Every click must seek, the same row's too after the playhead moved on; a row left selected would
    make the next click on it a deselection, which seeks nowhere. Runs as the table's callback, before
    the page, so the player gets the request in the same run.
    """
    selection = st.session_state[key].selection
    rows = [*selection.get("rows", []), *(row for row, _ in selection.get("cells", []))]
    if rows and 0 <= rows[0] < len(seconds):
        request_seek(seconds[rows[0]])
    st.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": []}}


@st.cache_data(show_spinner=False, max_entries=256)
def _game_figures(labels: Annotations, events: Annotations, tolerance_s: float, thresholds: tuple[float, ...],
                  spec: Specifications = SOCCERNET_V2):
    from spotting.metrics import game_figures

    return game_figures(labels, events, tolerance_s=tolerance_s, threshold=np.asarray(thresholds),
                        framerate=spec.framerate, num_classes=spec.num_classes)


@st.cache_data(show_spinner=False, max_entries=256)
def _official(labels: Annotations, events: Annotations, metric: str,
              spec: Specifications = SOCCERNET_V2) -> tuple[float, float, int]:
    """``(official Average-mAP, mean over the classes present, number of classes present)`` of one game.

    Official: SoccerNet's ``evaluate()`` on this game alone, threshold-free (its 200 thresholds), every
    class counted, so a class without ground truth here is an AP of 0.
    """
    from spotting.metrics import average_map

    result = average_map([labels], [events], metric, spec.framerate, spec.num_classes)
    present = (result.num_labels_visible + result.num_labels_unshown) > 0
    mean_present = float(np.mean(result.a_mAP_per_class[present])) if present.any() else 0.0
    return float(result.a_mAP), mean_present, int(present.sum())


def metrics_ui(data: GameData, shown: Sequence[SourceEvents], tolerance: int, thresholds: np.ndarray) -> None:
    spec = data.spec
    if data.labels is None:
        st.info(f"This game has no {spec.labels_file}: metrics need ground truth.")
        return
    if not shown:
        st.info("Load predictions (sidebar) to see metrics.")
        return
    key = tuple(float(t) for t in thresholds)
    official_rows, rows, per_source = [], [], {}
    present = 0
    first, second = ("loose", "tight") if spec.metric in ("loose", "tight") else (spec.metric, "tight")
    for source in shown:
        every = source.candidates if source.candidates is not None else source.events
        loose, loose_present, present = _official(data.labels, every, first, spec)
        tight, tight_present, _ = _official(data.labels, every, second, spec)
        official_rows.append({"source": source.name, first: loose, second: tight,
                              f"{first}, classes present": loose_present, f"{second}, classes present": tight_present})
        figures = _game_figures(data.labels, source.events, float(tolerance), key, spec)
        per_source[source.name] = figures
        rows.append({"source": source.name, **_totals(figures),
                     f"mAP @ δ={tolerance}s": float(np.mean(np.asarray(figures.ap)))})
    three = st.column_config.NumberColumn(format="%.3f")
    st.markdown("**Official Average-mAP of this game** — threshold-free (SoccerNet's `evaluate()` on this game "
                "alone, every prediction at its 200 thresholds): the figure to quote.")
    st.dataframe(pd.DataFrame(official_rows), hide_index=True, width="stretch",
                 column_config={c: three for c in (first, second, f"{first}, classes present",
                                                    f"{second}, classes present")})
    count = spec.num_classes
    st.caption(f"{present} of {count} classes have ground truth in this game. Officially every class counts "
               f"and one without ground truth scores 0, so this game's official figure cannot exceed {present}/"
               f"{count} = {present / count:.3f}; *classes present* averages over those {present} only."
               + (f" Class set: {spec.describe()}." if spec.name != SOCCERNET_V2.name else ""))
    st.markdown(f"**At the current thresholds** — the events shown (after thresholds and NMS, both halves), matched "
                f"within ±δ/2, δ = {tolerance} s: what the timeline colours and the Export tab writes.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={c: three for c in (f"mAP @ δ={tolerance}s", "precision", "recall")})
    name = st.selectbox("Per class, for", list(per_source), key=state.METRICS_SOURCE) if len(per_source) > 1 \
        else next(iter(per_source))
    st.dataframe(_per_class(per_source[name], data.labels, spec.classes), hide_index=True, width="stretch",
                 height=38 + 35 * spec.num_classes,
                 column_config={"AP": st.column_config.ProgressColumn(f"AP @ δ={tolerance}s", min_value=0.0,
                                                                     max_value=1.0, format="%.2f"),
                                "precision": st.column_config.NumberColumn(format="%.2f"),
                                "recall": st.column_config.NumberColumn(format="%.2f")})
    left, right = st.columns([1, 2])
    options = ["All classes"] + list(spec.classes)
    if st.session_state.get(state.PR_CLASS) not in options:
        st.session_state.pop(state.PR_CLASS, None)  # a class of another game's set
    picked = left.selectbox("PR curve of", options, key=state.PR_CLASS)
    left.caption("Precision and recall at SoccerNet's 200 confidence thresholds, at tolerance δ; the cross marks "
                 "the current thresholds.")
    class_index = None if picked == "All classes" else spec.classes.index(picked)
    curves, points = [], []
    for source_name, figures in per_source.items():
        precision, recall = _pr(figures, class_index)
        curves.append((source_name, recall, precision))
        totals = _totals(figures) if class_index is None else _class_row(figures, class_index)
        points.append((source_name, totals["recall"], totals["precision"]))
    right.plotly_chart(pr_curve_figure(curves, f"{picked} — δ = {tolerance} s", points), width="stretch",
                       config={"displaylogo": False})


def _pr(figures, class_index: int | None) -> tuple[np.ndarray, np.ndarray]:
    """``(precision, recall)`` points of ``GameFigures.pr_curve``."""
    _, precision, recall = figures.pr_curve(class_index)  # (200,) each, at the official thresholds
    defined = (precision > 0) | (recall > 0)  # thresholds above every prediction give 0/0: leave them out
    return np.asarray(precision[defined], float), np.asarray(recall[defined], float)


def _class_row(figures, c: int) -> dict:
    tp, fp, fn = int(figures.tp[c]), int(figures.fp[c]), int(figures.fn[c])
    return {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
            "TP": tp, "FP": fp, "FN": fn}


def _totals(figures) -> dict:
    tp, fp, fn = int(np.sum(figures.tp)), int(np.sum(figures.fp)), int(np.sum(figures.fn))
    return {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
            "TP": tp, "FP": fp, "FN": fn}


def _per_class(figures, labels: Annotations, class_names: Sequence[str] = CLASSES) -> pd.DataFrame:
    counts = np.bincount(labels.class_index, minlength=len(class_names))
    rows = [{"class": class_names[c], "AP": float(figures.ap[c]), **_class_row(figures, c), "GT": int(counts[c])}
            for c in range(len(class_names))]
    return pd.DataFrame(rows)


def export_ui(data: GameData, shown: Sequence[SourceEvents]) -> None:
    if not shown:
        st.info("Nothing to export: load predictions first.")
        return
    st.caption("The events shown, after thresholds and NMS: `results_spotting.json` in the official format "
               "(readable by SoccerNet's evaluator), or one CSV with every source. File names start with the game's.")
    game = data.game.name
    columns = st.columns(min(len(shown), 3) + 1)
    for column, source in zip(columns, shown):
        name = download_name(game, "results_spotting.json" if len(shown) == 1 else f"{source.name}_results_spotting.json")
        column.download_button(
            f"{source.name} · results_spotting.json ({plural(len(source.events), 'event')})",
            data=lambda s=source: json.dumps(results_dict(s.events, data.url_local, data.spec, data.spec.framerate),
                                             indent=1),
            file_name=name, mime="application/json", on_click="ignore",
            key=state.export_json_key(source.name), width="stretch")
    last = columns[-1]
    missed = data.labels is not None and last.toggle("Missed ground truth rows", key=state.CSV_MISSED,
                                                      help="One row per ground truth each source missed "
                                                           "(status 'missed', no confidence).")
    last.download_button("All sources · events.csv", data=lambda: events_csv(shown, data.labels, missed,
                                                                              data.spec.classes),
                         file_name=download_name(game, "events.csv"), mime="text/csv", on_click="ignore",
                         key=state.EXPORT_CSV, width="stretch")
