"""Text tables of evaluations (``python -m spotting.evaluate``): one model, several side by side, per game.

Figures are in percent; class rows are named by the class set's names (SoccerNet-v2's when none are given).
"""

from __future__ import annotations

import numpy as np

from spotting.analysis import PerGameMetrics
from spotting.metrics import SpottingMetrics
from spotting.specs import SOCCERNET_V2


def _title(result: SpottingMetrics) -> str:
    deltas = result.deltas_s
    span = f"{deltas[0]:g} s" if len(deltas) == 1 else f"{deltas[0]:g}..{deltas[-1]:g} s"
    return f"Average-mAP ({result.metric}, tolerance {span}) over {result.num_games} game(s)"


def _class_names(result: SpottingMetrics, classes: tuple[str, ...] | None) -> tuple[str, ...]:
    names = classes if classes is not None else SOCCERNET_V2.classes
    if len(names) != result.num_classes:
        raise ValueError(f"{len(names)} class names for {result.num_classes} classes")
    return names


def _rescale_note(num_classes: int) -> str:
    if num_classes == SOCCERNET_V2.num_classes:
        return "(unshown overall is rescaled by 17/13 as officially: 4 classes are never unshown)"
    return "(unshown overall is rescaled by 17/13, as SoccerNet's evaluate() does whatever the class set)"


def format_table(result: SpottingMetrics, classes: tuple[str, ...] | None = None) -> str:
    """A readable table: overall, per class (``classes`` names them; None: SoccerNet-v2's), visible /
    unshown (in percent) and the counts behind them."""
    deltas = result.deltas_s
    names = _class_names(result, classes)

    def row(name: str, a_map: float, visible: float, unshown: float, labels: int, not_shown: int, preds: int) -> str:
        return (f"{name:<20} {100 * a_map:7.2f} {100 * visible:8.2f} {100 * unshown:8.2f} "
                f"{labels:7d} {not_shown:9d} {preds:11d}")

    header = f"{'class':<20} {'a-mAP':>7} {'visible':>8} {'unshown':>8} {'labels':>7} {'not shown':>9} {'predictions':>11}"
    labels = result.num_labels_visible + result.num_labels_unshown
    lines = [_title(result), "", header, "-" * len(header),
             row("all", result.a_mAP, result.a_mAP_visible, result.a_mAP_unshown, int(labels.sum()),
                 int(result.num_labels_unshown.sum()), int(result.num_predictions.sum()))]
    for c, name in enumerate(names):
        lines.append(row(name[:20], result.a_mAP_per_class[c], result.a_mAP_per_class_visible[c],
                         result.a_mAP_per_class_unshown[c], int(labels[c]), int(result.num_labels_unshown[c]),
                         int(result.num_predictions[c])))
    if len(deltas) > 1:
        per_delta = ", ".join(f"{d:g}s {100 * m:.2f}" for d, m in zip(deltas, result.mAP_per_delta))
        lines += ["", f"mAP per tolerance: {per_delta}", _rescale_note(result.num_classes)]
    return "\n".join(lines)


def format_models_table(names: list[str], results: list[SpottingMetrics], classes: tuple[str, ...] | None = None) -> str:
    """Several models side by side: a-mAP, visible, unshown (percent) per model, overall and per class
    (``classes`` names them; None: SoccerNet-v2's); with two models also the a-mAP difference (second −
    first, in points)."""
    block = 26
    two = len(results) == 2
    first = results[0]
    labels = first.num_labels_visible + first.num_labels_unshown
    top = f"{'':<20} {'':>7} " + " ".join(f"{n[:block]:>{block}}" for n in names)
    header = (f"{'class':<20} {'labels':>7} " + " ".join(f"{'a-mAP':>8} {'visible':>8} {'unshown':>8}" for _ in names)
              + (f" {'Δ a-mAP':>8}" if two else ""))

    def row(name: str, count: int, figures: list[tuple[float, float, float]]) -> str:
        cells = " ".join(f"{100 * a:8.2f} {100 * v:8.2f} {100 * u:8.2f}" for a, v, u in figures)
        diff = f" {100 * (figures[1][0] - figures[0][0]):+8.2f}" if two else ""
        return f"{name:<20} {count:7d} {cells}{diff}"

    lines = [f"{_title(first)}, {len(results)} models", "", top, header, "-" * len(header),
             row("all", int(labels.sum()), [(r.a_mAP, r.a_mAP_visible, r.a_mAP_unshown) for r in results])]
    for c, name in enumerate(_class_names(first, classes)):
        lines.append(row(name[:20], int(labels[c]), [(r.a_mAP_per_class[c], r.a_mAP_per_class_visible[c],
                                                 r.a_mAP_per_class_unshown[c]) for r in results]))
    return "\n".join(lines)


def format_per_game(games: list[str], names: list[str], per_game: list[PerGameMetrics]) -> str:
    """Each game's labels, and predictions and a-mAP (percent) per model, worst first by the first model;
    with two models also the a-mAP difference (second − first, in points)."""
    two = len(names) == 2
    width = max(len("game"), *(len(g) for g in games))
    block = 19
    top = f"{'':<{width}} {'':>6} " + " ".join(f"{n[:block]:>{block}}" for n in names)
    header = (f"{'game':<{width}} {'labels':>6} " + " ".join(f"{'predictions':>11} {'a-mAP':>7}" for _ in names)
              + (f" {'Δ a-mAP':>8}" if two else ""))
    lines = [f"Per game ({per_game[0].metric} a-mAP, worst first by {names[0]})", "", top, header, "-" * len(header)]
    for g in np.argsort(per_game[0].a_mAP, kind="stable"):
        cells = " ".join(f"{int(p.num_predictions[g].sum()):11d} {100 * p.a_mAP[g]:7.2f}" for p in per_game)
        diff = f" {100 * (per_game[1].a_mAP[g] - per_game[0].a_mAP[g]):+8.2f}" if two else ""
        lines.append(f"{games[g]:<{width}} {int(per_game[0].num_labels[g].sum()):6d} {cells}{diff}")
    return "\n".join(lines)
