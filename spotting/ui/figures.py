"""Plotly figures of the page: pure functions from arrays/events to figures (no Streamlit here).

The timeline figure is the single figure both the player component and the ``st.plotly_chart``
fallback draw: row 1 holds one lane per class (ground truth as ticks across it, one sub-row per
prediction source, each in its own colour), the rows under it the selected classes' segmentation curves. All rows share one x
axis in seconds within the half, so the player's playhead and click-to-seek work on every row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from spotting.soccernet import CLASSES, Annotations

GT_COLOR = "#334155"
# One colour per prediction source (its lanes, misses, PR curve); what happened to an event is its shape:
# filled circle = matched ground truth, open circle = false alarm, cross = missed ground truth.
SOURCE_COLORS = ("#2563eb", "#c2410c", "#0f766e", "#9333ea", "#4d7c0f", "#be185d")
CURVE_COLOR = "#2563eb"
LANE_SHADE = "rgba(148, 163, 184, 0.13)"
MAX_CURVE_POINTS = 1500
MAX_LANE_MARKERS = 4000  # per prediction source: more is not readable, and costs seconds per rerun to send


@dataclass(frozen=True)
class Lane:
    """One prediction source drawn on the timeline (events of the shown half, thresholded)."""

    name: str
    events: Annotations
    matched: np.ndarray | None = None  # (N,) bool: TP/FP per event when labels exist
    missed: Annotations | None = None  # ground truth of the half this source missed (drawn in its own sub-row)


@dataclass(frozen=True)
class Curve:
    """One class's segmentation curve, already decimated for display."""

    class_index: int
    times_s: np.ndarray  # (P,) seconds
    values: np.ndarray  # (P,) in [0, 1]


def clock(seconds: float | np.ndarray) -> str | np.ndarray:
    """``"MM:SS"`` within the half; an array of seconds gives an object array of strings."""
    if np.ndim(seconds) == 0:
        whole = int(max(0.0, float(seconds)))
        return f"{whole // 60:02d}:{whole % 60:02d}"
    whole = np.maximum(np.asarray(seconds, dtype=np.float64), 0).astype(np.int64)
    return np.array([f"{w // 60:02d}:{w % 60:02d}" for w in whole.tolist()], dtype=object)


def signed_clock(seconds: np.ndarray) -> np.ndarray:
    """``"MM:SS"``, or ``"-MM:SS"`` before the half's start (real files hold such predictions); ``(N,)`` → ``(N,)``."""
    seconds = np.asarray(seconds, dtype=np.float64)
    text = clock(np.abs(seconds)) if seconds.size else np.zeros(0, dtype=object)
    return np.where(seconds <= -1, "-" + text.astype(str), text).astype(object)


def decimate_curve(times_s: np.ndarray, values: np.ndarray, max_points: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Min/max envelope of a curve ``(T,)`` in at most ``max_points`` points, so peaks survive.

    Each bucket of consecutive frames contributes its minimum and its maximum, in time order.
    """
    times_s = np.asarray(times_s, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    count = values.shape[0]
    if count <= max_points:
        return times_s, values
    buckets = max(1, max_points // 2)
    size = int(np.ceil(count / buckets))
    pad = buckets * size - count
    padded_values = np.concatenate([values, np.full(pad, values[-1])]).reshape(buckets, size)  # (B, S)
    arg_min = padded_values.argmin(axis=1)
    arg_max = padded_values.argmax(axis=1)
    first = np.minimum(arg_min, arg_max)  # keep each bucket's two points in time order
    second = np.maximum(arg_min, arg_max)
    index = (np.arange(buckets)[:, None] * size + np.stack([first, second], axis=1)).reshape(-1)  # (2B,)
    index = np.minimum(index, count - 1)
    return times_s[index], values[index]


TICK_STEPS_S = (10, 15, 30, 60, 120, 300, 600, 900)


def minute_ticks(half_duration_s: float, max_ticks: int = 12) -> tuple[list[float], list[str]]:
    """Ticks at a round step (10 s … 15 min) giving at most ``max_ticks`` labels, as ``MM:SS``."""
    step = next((s for s in TICK_STEPS_S if half_duration_s / s <= max_ticks), TICK_STEPS_S[-1])
    values = [float(v) for v in np.arange(0.0, half_duration_s + 1e-9, step)]
    return values, [str(clock(v)) for v in values]


def _row_offsets(rows: int) -> list[float]:
    """y offsets of a class lane's sub-rows (the lane spans -0.5..0.5 around its centre): one per source, top first."""
    step = 0.84 / rows
    return [0.42 - step * (i + 0.5) for i in range(rows)]


_GRID = "rgba(100, 116, 139, 0.18)"
TIMELINE_GAP_PX = 12  # between curves
TICKS_GAP_PX = 26  # between the lanes and the first curve: the time ticks sit there
CURVE_PX = 56
MAX_LANES_PX = 340  # 17 classes and several sources share this much; fewer classes get roomier lanes
LEGEND_PX = 22  # per line of legend above the lanes
LEGEND_PER_LINE = 4  # entries of the legend a line holds in the player's width on a 1366 px screen
KEY_COLOR = "#64748b"  # the legend's key to shapes (correct, false alarm, missed) is grey: colours are sources


def _legend_entry(name: str, group: str, marker: dict) -> dict:
    """A legend entry without points: the key to a shape, or a source's colour (a click on it toggles ``group``)."""
    return {"type": "scatter", "mode": "markers", "name": name, "legendgroup": group, "x": [None], "y": [None],
            "marker": marker, "hoverinfo": "skip", "showlegend": True, "xaxis": "x", "yaxis": "y"}


def _markers(name: str, x: np.ndarray, y: np.ndarray, marker: dict, customdata: list, group: str, hover: str) -> dict:
    return {"type": "scatter", "mode": "markers", "name": name, "legendgroup": group, "x": np.asarray(x, float).tolist(),
            "y": np.asarray(y, float).tolist(), "marker": marker, "customdata": customdata, "hovertemplate": hover,
            "xaxis": "x", "yaxis": "y"}


def _names_times(events: Annotations, class_names: Sequence[str] = CLASSES) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(class_names, dtype=object)[events.class_index], signed_clock(events.position_ms / 1000.0)


# Hover texts: a prediction has a confidence, ground truth has none (it is not a guess).
_HOVER_PREDICTION = ("<b>%{customdata[0]}</b> · %{customdata[1]}<br>%{customdata[2]}"
                     "<br>confidence %{customdata[3]}<br>%{customdata[4]}<extra></extra>")
_HOVER_LABEL = "<b>%{customdata[0]}</b> · %{customdata[1]}<br>%{customdata[2]}<extra></extra>"


def _prediction_hover(events: Annotations, source: str, status, class_names: Sequence[str] = CLASSES) -> list:
    names, times = _names_times(events, class_names)
    confidence = np.array([f"{c:.2f}" if np.isfinite(c) else str(c) for c in events.confidence.tolist()], dtype=object)
    return np.stack([names, times, np.full(len(events), source, dtype=object), confidence,
                     np.broadcast_to(np.asarray(status, dtype=object), (len(events),))], axis=1).tolist()


def _label_hover(labels: Annotations, status, class_names: Sequence[str] = CLASSES) -> list:
    names, times = _names_times(labels, class_names)
    return np.stack([names, times, np.broadcast_to(np.asarray(status, dtype=object), (len(labels),))], axis=1).tolist()


def _clipped_markers(part: Annotations, name: str, color: str, status: str, half_duration_s: float,
                     lane_y: np.ndarray, group: str, class_names: Sequence[str] = CLASSES) -> dict:
    """Predictions outside the half (real files hold some before its start), drawn at its nearest edge as open
    triangles pointing out of it, so they stay visible and read as moved there."""
    seconds = part.position_ms / 1000.0
    before = seconds < 0
    where = np.where(before, "before the half's start, drawn at 00:00", "after the half's end, drawn at its end")
    marker = {"symbol": np.where(before, "triangle-left-open", "triangle-right-open").tolist(), "color": color,
              "size": 10, "line": {"width": 1.5, "color": color}}
    hover = _prediction_hover(part, group, np.char.add(f"{status} — ", where.astype(str)), class_names)
    return _markers(f"{name} (outside the half)", np.clip(seconds, 0.0, half_duration_s),
                    lane_y[part.class_index], marker, hover, group, _HOVER_PREDICTION)


def thin_markers(events: Annotations, half_duration_s: float, budget: int = MAX_LANE_MARKERS) -> Annotations:
    """At most about ``budget`` of ``events`` for drawing: within each class, the most confident event of
    each time bin (bins sized so the classes together fit the budget). ``events`` as they are when they
    fit. Only what is drawn is thinned: thresholds, tables and metrics use every event.
    """
    if len(events) <= budget:
        return events
    classes = np.unique(events.class_index)
    bins = max(16, budget // max(1, len(classes)))
    seconds = events.position_ms / 1000.0
    slot = np.clip((seconds / max(half_duration_s, 1e-9) * bins).astype(np.int64), 0, bins - 1)
    key = events.class_index * bins + slot
    confidence = np.nan_to_num(events.confidence, nan=-np.inf)
    order = np.lexsort((-confidence, key))  # each bin's events, most confident first
    ordered = key[order]
    first = np.ones(len(order), bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return events.select(np.sort(order[first]))


def timeline_figure(*, half: int, half_duration_s: float, classes: Sequence[int],
                    labels: Annotations | None = None, label_status: Sequence[str] | None = None,
                    lanes: Sequence[Lane] = (), curves: Sequence[Curve] = (),
                    class_names: Sequence[str] = CLASSES) -> dict:
    """The timeline of one half as a plotly figure dict: lanes per class (``classes`` top to bottom, indices
    into ``class_names``: the game's class set, SoccerNet-v2's by default), then curves.

    In each class lane, ground truth is a vertical tick across the lane (solid when shown on screen,
    faint when not shown); each prediction source has its own sub-row and colour: a filled circle for a
    prediction that matched ground truth, an open circle for a false alarm, a cross where it missed
    ground truth (``Lane.missed``), a plain filled circle when there is nothing to match against.
    ``labels``/``lanes`` hold only what the half shows; events of classes not in ``classes`` are not
    drawn. ``label_status`` (len(labels),) is each label's hover line (who found it).

    Built as plain JSON types (not ``go.Figure``, whose validation costs ~0.2 s per build): row ``i``
    uses axes ``x{i}``/``y{i}``; every x axis follows the bottom one, as ``make_subplots(shared_xaxes=True)``.
    The time ticks sit under the lanes (they stay in view when curves run below the screen's edge).
    """
    classes = list(classes)
    names = list(class_names)
    lane_of = np.full(len(names), -1, dtype=np.int64)
    lane_of[classes] = np.arange(len(classes))
    rows = max(1, len(lanes))
    offsets = _row_offsets(rows)
    timeline_px = max(60, min(MAX_LANES_PX, len(classes) * (6 + 9 * rows)))
    lane_px = timeline_px / max(1, len(classes))
    row_px = 0.84 * lane_px / rows
    data: list[dict] = []

    key_status: dict[str, dict] = {}  # the legend's key to shapes, in grey: what happened to an event
    key_sources: list[dict] = []  # then one entry per source, in its colour (a click hides the source)
    if labels is not None and len(labels):
        status = (np.full(len(labels), "ground truth", dtype=object) if label_status is None
                  else np.asarray(label_status, dtype=object))
        shown = lane_of[labels.class_index] >= 0
        for name, mask, opacity in (("ground truth", labels.visible, 1.0), ("not shown", ~labels.visible, 0.4)):
            mask = mask & shown
            if not mask.any():
                continue
            part = labels.select(mask)
            marker = {"symbol": "line-ns", "size": max(6.0, 0.92 * lane_px), "color": GT_COLOR, "opacity": opacity,
                      "line": {"width": 2, "color": GT_COLOR}}
            data.append(_markers(name, part.position_ms / 1000.0, -lane_of[part.class_index].astype(float), marker,
                                 _label_hover(part, status[mask], names), "gt", _HOVER_LABEL))
            key_status[name] = {**marker, "size": 12}

    for index, lane in enumerate(lanes):
        color = SOURCE_COLORS[index % len(SOURCE_COLORS)]
        lane_y = -lane_of + offsets[index]
        events = lane.events
        mask = lane_of[events.class_index] >= 0
        groups = ([("", np.ones(len(events), bool), "circle", "prediction")] if lane.matched is None else
                  [("correct", np.asarray(lane.matched, bool), "circle", "correct: ground truth within ±δ/2"),
                   ("false alarm", ~np.asarray(lane.matched, bool), "circle-open", "false alarm: no ground truth within ±δ/2")])
        seconds = events.position_ms / 1000.0
        outside = (seconds < 0) | (seconds > half_duration_s)
        budget = max(64, MAX_LANE_MARKERS // len(groups))
        thinned = []
        for kind, group_mask, symbol, status in groups:
            suffix = f": {kind}" if kind else ""
            whole = events.select(mask & group_mask & ~outside)
            part = thin_markers(whole, half_duration_s, budget)
            confidence = np.clip(np.nan_to_num(part.confidence, nan=0.0), 0.0, 1.0)
            size = np.maximum(4.0, min(row_px, 12.0) * (0.35 + 0.55 * confidence) + 1.0)  # confidence reads as size
            marker = {"symbol": symbol, "color": color, "size": np.round(size, 1).tolist(),
                      "opacity": (0.45 + 0.55 * confidence).tolist(),
                      "line": {"width": 1.6 if symbol.endswith("open") else 0, "color": color}}
            drawn = "" if len(part) == len(whole) else f" ({len(part):,} most confident of {len(whole):,} drawn)"
            thinned += [f"{kind or 'events'}{drawn}"] if drawn else []
            data.append(_markers(f"{lane.name}{suffix}{drawn}", part.position_ms / 1000.0, lane_y[part.class_index],
                                 marker, _prediction_hover(part, lane.name, status, names), lane.name, _HOVER_PREDICTION))
            if kind and len(whole):
                key_status.setdefault(kind, {"symbol": symbol, "color": KEY_COLOR, "size": 8,
                                             "line": {"width": 1.6 if symbol.endswith("open") else 0, "color": KEY_COLOR}})
            if (mask & group_mask & outside).any():
                clipped = thin_markers(events.select(mask & group_mask & outside), half_duration_s, budget)
                data.append(_clipped_markers(clipped, lane.name + suffix, color, status, half_duration_s, lane_y,
                                             lane.name, names))
        if lane.missed is not None:
            missed = lane.missed.select(lane_of[lane.missed.class_index] >= 0)
            if len(missed):
                marker = {"symbol": "x-thin", "size": float(np.clip(row_px * 0.9, 6, 11)), "color": color,
                          "line": {"width": 2, "color": color}}
                data.append(_markers(f"{lane.name}: missed", missed.position_ms / 1000.0, lane_y[missed.class_index],
                                     marker, _label_hover(missed, f"ground truth missed by {lane.name}", names), lane.name,
                                     _HOVER_LABEL))
                key_status.setdefault("missed", {**marker, "color": KEY_COLOR, "size": 8,
                                                 "line": {"width": 2, "color": KEY_COLOR}})
        key_sources.append(_legend_entry(lane.name + (f" ({'; '.join(thinned)})" if thinned else ""), lane.name,
                                         {"symbol": "circle", "color": color, "size": 9}))
    for trace in data:
        trace["showlegend"] = False  # the legend is the key below: shapes once, then sources
    order = ("ground truth", "not shown", "correct", "false alarm", "missed")
    data[:0] = key_sources + [_legend_entry(name, "gt" if name in order[:2] else f"key:{name}", key_status[name])
                              for name in order if name in key_status]

    rows_total = 1 + len(curves)
    entries = sum(1 for trace in data if trace.get("showlegend", True))
    legend_px = LEGEND_PX * max(1, -(-entries // LEGEND_PER_LINE))
    plot_px = timeline_px + (TICKS_GAP_PX + len(curves) * CURVE_PX + max(0, len(curves) - 1) * TIMELINE_GAP_PX
                             if curves else 0)
    margin = {"l": 10, "r": 10, "t": legend_px + 4, "b": 6 if curves else TICKS_GAP_PX}
    tick_values, tick_text = minute_ticks(half_duration_s)
    bottom = f"x{rows_total}" if rows_total > 1 else "x"
    pad_s = 0.01 * half_duration_s  # so a kick-off at 00:00 is not cut in half by the frame
    layout: dict = {
        "height": plot_px + margin["t"] + margin["b"], "margin": margin, "hovermode": "closest", "dragmode": "zoom",
        "uirevision": f"half-{half}", "paper_bgcolor": "white", "plot_bgcolor": "white",
        "font": {"family": "Inter, Segoe UI, sans-serif", "size": 12, "color": "#1e293b"},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0, "font": {"size": 11},
                   "traceorder": "normal", "itemwidth": 30},
        "shapes": [{"type": "rect", "xref": "x domain", "yref": "y", "x0": 0, "x1": 1, "y0": -p - 0.5,
                    "y1": -p + 0.5, "fillcolor": LANE_SHADE, "line": {"width": 0}, "layer": "below"}
                   for p in range(0, len(classes), 2)],  # alternate shading so lanes read as rows
        "annotations": [],
    }
    top = 1.0
    for row in range(1, rows_total + 1):
        height = timeline_px if row == 1 else CURVE_PX
        y0 = max(0.0, top - height / plot_px)
        suffix = "" if row == 1 else str(row)
        layout[f"xaxis{suffix}"] = {
            "anchor": f"y{suffix}", "domain": [0, 1], "range": [-pad_s, half_duration_s + pad_s], "tickmode": "array",
            "tickvals": tick_values, "ticktext": tick_text, "showticklabels": row == 1, "ticks": "",
            "tickfont": {"size": 11}, "showgrid": True, "gridcolor": _GRID, "zeroline": False, "showline": False,
            **({"matches": bottom} if f"x{suffix}" != bottom else {})}
        if row == 1:
            layout["yaxis"] = {"anchor": "x", "domain": [y0, top], "tickmode": "array",
                               "tickvals": [-i for i in range(len(classes))],
                               "ticktext": [names[c] for c in classes], "range": [-len(classes) + 0.5, 0.5],
                               "showgrid": False, "zeroline": False, "fixedrange": True, "automargin": True}
            top = y0 - TICKS_GAP_PX / plot_px
            continue
        curve = curves[row - 2]
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "domain": [y0, top], "range": [0, 1.15],
                                    "tickvals": [0, 1], "tickfont": {"size": 9}, "showgrid": False,
                                    "zeroline": False, "fixedrange": True, "automargin": True}
        layout["annotations"].append({
            "text": f"{names[curve.class_index]} — segmentation", "xref": f"x{suffix} domain",
            "yref": f"y{suffix} domain", "x": 0.005, "y": 1.0, "xanchor": "left", "yanchor": "top",
            "showarrow": False, "font": {"size": 11, "color": "#475569"}})
        data.append({
            "type": "scatter", "mode": "lines", "name": names[curve.class_index], "showlegend": False,
            "x": np.asarray(curve.times_s, float).tolist(), "y": np.round(curve.values, 4).tolist(),
            "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "fill": "tozeroy",
            "line": {"width": 1.3, "color": CURVE_COLOR}, "fillcolor": "rgba(37, 99, 235, 0.12)",
            "hovertemplate": f"<b>{names[curve.class_index]}</b> · %{{x:.1f}} s<br>score %{{y:.2f}}<extra></extra>"})
        top = y0 - TIMELINE_GAP_PX / plot_px
    return {"data": data, "layout": layout}


def figure_dict(figure: go.Figure | dict) -> dict:
    """The figure as plain JSON types (numpy arrays become lists), what the player component takes."""
    if isinstance(figure, dict):
        return json.loads(json.dumps(figure))
    return json.loads(figure.to_json())


def pr_curve_figure(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], title: str,
                    operating_points: Sequence[tuple[str, float, float]] = ()) -> go.Figure:
    """Precision–recall curves ``(name, recall (K,), precision (K,))``; operating points are (name, recall, precision)."""
    figure = go.Figure()
    for index, (name, recall, precision) in enumerate(curves):
        figure.add_trace(go.Scatter(x=recall, y=precision, mode="lines", name=name,
                                    line=dict(color=SOURCE_COLORS[index % len(SOURCE_COLORS)], width=2),
                                    hovertemplate="recall %{x:.2f}<br>precision %{y:.2f}<extra>" + name + "</extra>"))
    for index, (name, recall, precision) in enumerate(operating_points):
        figure.add_trace(go.Scatter(x=[recall], y=[precision], mode="markers", name=f"{name} at current thresholds",
                                    marker=dict(size=13, symbol="x", color=SOURCE_COLORS[index % len(SOURCE_COLORS)],
                                                line=dict(width=1, color="white"))))
    figure.update_layout(title=dict(text=title, font_size=14), height=340, template="plotly_white",
                         margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2),
                         xaxis=dict(title="recall", range=[0, 1.02]), yaxis=dict(title="precision", range=[0, 1.05]))
    return figure
