"""Plotly figures of the split page: pure functions from arrays to figures (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from spotting.specs import SOCCERNET_V2
from spotting.ui.figures import SOURCE_COLORS

_LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=40, b=10),
               legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))


def color(index: int) -> str:
    return SOURCE_COLORS[index % len(SOURCE_COLORS)]


def per_class_bars(names: Sequence[str], loose: Sequence[np.ndarray], tight: Sequence[np.ndarray],
                   classes: Sequence[str] = SOCCERNET_V2.classes,
                   metrics: tuple[str, str] = ("loose", "tight")) -> go.Figure:
    """Grouped bars of per-class Average-mAP (``(C,)`` per model, in [0, 1], ``classes`` naming them): the
    first metric (loose) solid, the second (tight) hatched."""
    figure = go.Figure()
    labels = list(classes)
    first, second = metrics
    for index, name in enumerate(names):
        figure.add_trace(go.Bar(x=labels, y=100 * np.asarray(loose[index]), name=f"{name} {first}",
                                marker_color=color(index), offsetgroup=f"{index}-loose",
                                hovertemplate="%{x}: %{y:.1f}<extra>" + name + f" {first}</extra>"))
        figure.add_trace(go.Bar(x=labels, y=100 * np.asarray(tight[index]), name=f"{name} {second}",
                                marker=dict(color=color(index), opacity=0.45, pattern_shape="/"),
                                offsetgroup=f"{index}-tight",
                                hovertemplate="%{x}: %{y:.1f}<extra>" + name + f" {second}</extra>"))
    figure.update_layout(**_LAYOUT, height=380, barmode="group", yaxis=dict(title="Average-mAP (%)", range=[0, 100]),
                         xaxis=dict(tickangle=-35))
    return figure


def timing_histogram(names: Sequence[str], errors_s: Sequence[np.ndarray], tolerance_s: float) -> go.Figure:
    """Histogram of (prediction − ground truth) in seconds of matched predictions, one outline per model."""
    half = tolerance_s / 2
    size = max(0.5, tolerance_s / 40)
    figure = go.Figure()
    for index, (name, errors) in enumerate(zip(names, errors_s)):
        errors = np.asarray(errors, dtype=float)
        median = float(np.median(errors)) if errors.size else float("nan")
        figure.add_trace(go.Histogram(x=errors, name=f"{name} (median {median:+.1f} s, n={errors.size})",
                                      xbins=dict(start=-half - size / 2, end=half + size / 2, size=size),
                                      marker=dict(color=color(index), line=dict(color=color(index), width=1.5)),
                                      opacity=0.45, hovertemplate="%{x} s: %{y}<extra>" + name + "</extra>"))
    figure.add_vline(x=0, line=dict(color="#334155", width=1, dash="dot"))
    figure.update_layout(**_LAYOUT, height=320, barmode="overlay",
                         xaxis=dict(title="prediction − ground truth (s); negative = early", range=[-half, half]),
                         yaxis=dict(title="matched predictions"))
    return figure


def confusion_heatmap(name: str, counts: np.ndarray, classes: Sequence[int],
                      class_names: Sequence[str] = SOCCERNET_V2.classes) -> go.Figure:
    """False alarms of a class (rows) within δ of a ground truth of another class (columns), ``(C, C)``,
    restricted to ``classes`` (indices into ``class_names``)."""
    classes = list(classes)
    matrix = np.asarray(counts)[np.ix_(classes, classes)]
    labels = [class_names[c] for c in classes]
    figure = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Reds", showscale=False,
                                  text=np.where(matrix > 0, matrix, "").astype(str), texttemplate="%{text}",
                                  hovertemplate="false alarm %{y}<br>near ground truth %{x}: %{z}<extra></extra>"))
    figure.update_layout(**{**_LAYOUT, "margin": dict(l=10, r=10, t=40, b=10)}, height=120 + 26 * len(classes),
                         title=dict(text=name, font_size=13),
                         xaxis=dict(title="ground truth of another class nearby", tickangle=-40),
                         yaxis=dict(title="false alarm", autorange="reversed"))
    return figure


def pr_figure(names: Sequence[str], curves: Sequence[tuple[np.ndarray, np.ndarray]], title: str) -> go.Figure:
    """Precision–recall curves ``(recall (200,), precision (200,))``, one per model."""
    figure = go.Figure()
    for index, (name, (recall, precision)) in enumerate(zip(names, curves)):
        figure.add_trace(go.Scatter(x=recall, y=precision, mode="lines", name=name,
                                    line=dict(color=color(index), width=2),
                                    hovertemplate="recall %{x:.2f}<br>precision %{y:.2f}<extra>" + name + "</extra>"))
    figure.update_layout(**{**_LAYOUT, "legend": dict(orientation="h", yanchor="top", y=-0.18, x=0)}, height=360,
                         title=dict(text=title, font_size=13), xaxis=dict(title="recall", range=[0, 1.02]),
                         yaxis=dict(title="precision", range=[0, 1.05]))
    return figure


def game_scatter(name_a: str, name_b: str, a: np.ndarray, b: np.ndarray, titles: Sequence[str]) -> go.Figure:
    """Per-game Average-mAP of model A (x) against model B (y), in %, with the diagonal."""
    figure = go.Figure()
    both = np.concatenate([np.asarray(a, float), np.asarray(b, float)])
    top = float(min(100.0, np.ceil((100 * both.max() if both.size else 100.0) / 10 + 0.5) * 10))
    figure.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", line=dict(color="#94a3b8", dash="dot"),
                                hoverinfo="skip", showlegend=False))
    figure.add_trace(go.Scatter(x=100 * np.asarray(a), y=100 * np.asarray(b), mode="markers", text=list(titles),
                                marker=dict(color=color(0), size=8, opacity=0.75), showlegend=False,
                                hovertemplate="%{text}<br>" + name_a + " %{x:.1f} · " + name_b + " %{y:.1f}<extra></extra>"))
    # The same range on both axes (no scaleanchor: in a wide column it would stretch x instead).
    figure.update_layout(**_LAYOUT, height=420, xaxis=dict(title=f"{name_a} Average-mAP (%)", range=[0, top]),
                         yaxis=dict(title=f"{name_b} Average-mAP (%)", range=[0, top]))
    return figure
