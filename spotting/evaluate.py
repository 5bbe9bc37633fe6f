"""Evaluate ``results_spotting.json`` files with SoccerNet's Average-mAP (official-equal, fast).

    python -m spotting.evaluate --soccernet-dir D --predictions-dir P [--predictions-dir P2 ...]
        [--split test] [--metric loose|tight|at1..at5] [--prediction-file results_spotting.json]
        [--json] [--per-game] [--csv FILE [--force]] [--missing-as-empty] [--skip-unknown]

Games: with ``--split`` the official list of that split (games absent from D are skipped with a
note); without it, every game folder under D that has a ``Labels-v2.json``. Each game's predictions
are ``P/<league>/<season>/<game>/<prediction file>`` (string-valued official files or numeric ones).

Several ``--predictions-dir`` compare models: each is named by its folder's name (a repeated name
gets ``-2``, ``-3``, ...) and the table shows them side by side. ``--per-game`` adds each game's
a-mAP (worst first by the first model); ``--csv FILE`` writes one row per game and model.

A game without a prediction file is an error naming that file (the official evaluator crashes on
it); ``--missing-as-empty`` counts such a game as having no predictions instead (its events are
all missed). Unknown labels are an error naming the file; ``--skip-unknown`` drops them silently,
as the official evaluator does.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spotting.analysis import (ModelPredictions, PerGameMetrics, load_model_predictions, model_names,
                               per_game_average_map, per_game_rows)
from spotting.cli import run_cli
from spotting.errors import InputError
from spotting.metrics import METRICS, SpottingMetrics, average_map, metric_deltas
from spotting.results import RESULTS_FILE
from spotting.soccernet import CLASSES, Annotations, find_games, read_labels

Progress = Callable[[int, int], None]


@dataclass
class EvaluationSet:
    """Labels and predictions of the games to evaluate, in the same order."""

    games: list[str]  # game names relative to the SoccerNet root ("league/season/game")
    labels: list[Annotations]
    predictions: list[Annotations]
    missing_predictions: list[str] = field(default_factory=list)  # games evaluated with no predictions
    absent_from_split: list[str] = field(default_factory=list)  # split games not found on disk
    warnings: list[str] = field(default_factory=list)  # one line per results file with unusual content


def load_labels_set(soccernet_dir: str | Path, split: str | None = None, skip_unknown: bool = False,
                    progress: Progress | None = None) -> tuple[list[str], list[Annotations], list[str]]:
    """``(games, labels, absent_from_split)`` of the games to evaluate (see the module docstring)."""
    soccernet_dir = Path(soccernet_dir)
    games = find_games(soccernet_dir, split=split, require="labels")
    absent: list[str] = []
    if split is not None:
        from SoccerNet.utils import getListGames

        present = {g.name for g in games}
        absent = [name for name in getListGames(split) if name not in present]
    if not games:
        what = f"no game of the {split!r} split with a Labels-v2.json" if split else "no game folder with a Labels-v2.json"
        raise InputError(soccernet_dir, what, "point --soccernet-dir at your SoccerNet root")
    labels = []
    for done, game in enumerate(games, start=1):
        labels.append(read_labels(game.labels_path, unknown="skip" if skip_unknown else "error"))
        if progress is not None:
            progress(done, len(games))
    return [g.name for g in games], labels, absent


def check_model(model: ModelPredictions, predictions_dir: str | Path, prediction_file: str = RESULTS_FILE) -> None:
    """Raise :class:`InputError` (one line naming the file) for a missing file (unless missing files
    count as empty) or an unreadable one."""
    if model.missing and not model.missing_as_empty:
        more = f" ({len(model.missing) - 1} more game(s) lack one too)" if len(model.missing) > 1 else ""
        raise InputError(Path(predictions_dir) / model.missing[0] / prediction_file, f"prediction file not found{more}",
                         "write predictions for every evaluated game, restrict the games with --split, "
                         "or pass --missing-as-empty to count such games as having no predictions")
    if model.errors:
        others = len(model.errors) - 1
        more = f" ({others} more file(s) of {model.name} cannot be read either)" if others else ""
        raise InputError(None, model.errors[0] + more)


def load_evaluation_set(soccernet_dir: str | Path, predictions_dir: str | Path, split: str | None = None,
                        prediction_file: str = RESULTS_FILE, missing_as_empty: bool = False,
                        skip_unknown: bool = False, progress: Progress | None = None,
                        framerate: float = 2.0) -> EvaluationSet:
    """Read the labels and predictions of every game to evaluate (see the module docstring).

    Results files are read as SoccerNet's evaluator reads them (:func:`spotting.results.parse_results_file`);
    each file with something unusual in it (negative positions, confidences outside [0, 1], ...) gives
    one line in ``warnings``.
    """
    if not Path(predictions_dir).is_dir():
        raise InputError(predictions_dir, "predictions folder not found", "check --predictions-dir")
    games, labels, absent = load_labels_set(soccernet_dir, split, skip_unknown)
    model = load_model_predictions(predictions_dir, games, prediction_file, missing_as_empty, progress=progress,
                                   unknown="skip" if skip_unknown else "error", framerate=framerate)
    check_model(model, predictions_dir, prediction_file)
    return EvaluationSet(games, labels, model.predictions, model.missing, absent, model.warnings)


def evaluate_folder(soccernet_dir: str | Path, predictions_dir: str | Path, split: str | None = None,
                    metric: str = "loose", prediction_file: str = RESULTS_FILE, missing_as_empty: bool = False,
                    skip_unknown: bool = False, framerate: float = 2.0,
                    progress: Progress | None = None) -> SpottingMetrics:
    """Average-mAP of a predictions folder: equal to ``SoccerNet.Evaluation.ActionSpotting.evaluate``."""
    metric_deltas(metric)  # fail on a bad metric before reading anything
    data = load_evaluation_set(soccernet_dir, predictions_dir, split, prediction_file, missing_as_empty,
                               skip_unknown, progress, framerate)
    return average_map(data.labels, data.predictions, metric=metric, framerate=framerate)


def _title(result: SpottingMetrics) -> str:
    deltas = result.deltas_s
    span = f"{deltas[0]:g} s" if len(deltas) == 1 else f"{deltas[0]:g}..{deltas[-1]:g} s"
    return f"Average-mAP ({result.metric}, tolerance {span}) over {result.num_games} game(s)"


def format_table(result: SpottingMetrics) -> str:
    """A readable table: overall, per class, visible / unshown (in percent) and the counts behind them."""
    deltas = result.deltas_s

    def row(name: str, a_map: float, visible: float, unshown: float, labels: int, not_shown: int, preds: int) -> str:
        return (f"{name:<20} {100 * a_map:7.2f} {100 * visible:8.2f} {100 * unshown:8.2f} "
                f"{labels:7d} {not_shown:9d} {preds:11d}")

    header = f"{'class':<20} {'a-mAP':>7} {'visible':>8} {'unshown':>8} {'labels':>7} {'not shown':>9} {'predictions':>11}"
    labels = result.num_labels_visible + result.num_labels_unshown
    lines = [_title(result), "", header, "-" * len(header),
             row("all", result.a_mAP, result.a_mAP_visible, result.a_mAP_unshown, int(labels.sum()),
                 int(result.num_labels_unshown.sum()), int(result.num_predictions.sum()))]
    for c, name in enumerate(CLASSES):
        lines.append(row(name, result.a_mAP_per_class[c], result.a_mAP_per_class_visible[c],
                         result.a_mAP_per_class_unshown[c], int(labels[c]), int(result.num_labels_unshown[c]),
                         int(result.num_predictions[c])))
    if len(deltas) > 1:
        per_delta = ", ".join(f"{d:g}s {100 * m:.2f}" for d, m in zip(deltas, result.mAP_per_delta))
        lines += ["", f"mAP per tolerance: {per_delta}",
                  "(unshown overall is rescaled by 17/13 as officially: 4 classes are never unshown)"]
    return "\n".join(lines)


def format_models_table(names: list[str], results: list[SpottingMetrics]) -> str:
    """Several models side by side: a-mAP, visible, unshown (percent) per model, overall and per class;
    with two models also the a-mAP difference (second − first, in points)."""
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
    for c, name in enumerate(CLASSES):
        lines.append(row(name, int(labels[c]), [(r.a_mAP_per_class[c], r.a_mAP_per_class_visible[c],
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


def result_json(result: SpottingMetrics, data: EvaluationSet) -> dict:
    """SoccerNet's ``evaluate()`` dict plus what was evaluated."""
    return {
        **result.to_dict(),
        "metric": result.metric,
        "deltas_s": [float(d) for d in result.deltas_s],
        "classes": list(CLASSES),
        "mAP_per_delta": [float(m) for m in result.mAP_per_delta],
        "num_games": result.num_games,
        "games_without_predictions": data.missing_predictions,
        "split_games_not_found": data.absent_from_split,
        "warnings": data.warnings,
    }


def models_json(results: list[SpottingMetrics], models: list[ModelPredictions], dirs: list[Path],
                absent: list[str]) -> dict:
    """Several models: what was evaluated, and ``models`` = {name: evaluate() dict plus its details}."""
    first = results[0]
    return {
        "metric": first.metric,
        "deltas_s": [float(d) for d in first.deltas_s],
        "classes": list(CLASSES),
        "num_games": first.num_games,
        "split_games_not_found": absent,
        "models": {m.name: {**r.to_dict(), "predictions_dir": str(d),
                            "mAP_per_delta": [float(v) for v in r.mAP_per_delta],
                            "games_without_predictions": m.missing, "warnings": m.warnings}
                   for r, m, d in zip(results, models, dirs)},
    }


def write_csv(path: Path, rows: list[dict], force: bool = False) -> None:
    if path.exists() and not force:
        raise InputError(path, "already exists", "pass --force to overwrite it or choose another --csv file")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spotting.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--soccernet-dir", required=True, type=Path, help="SoccerNet root holding the Labels-v2.json files")
    parser.add_argument("--predictions-dir", required=True, type=Path, action="append",
                        help="root holding <game>/<prediction file>; repeat it to compare models (named by folder)")
    parser.add_argument("--split", choices=("train", "valid", "test", "challenge"), default=None,
                        help="evaluate the official list of this split (default: every game with labels)")
    parser.add_argument("--metric", choices=METRICS, default="loose")
    parser.add_argument("--prediction-file", default=RESULTS_FILE, help="file name inside each game folder")
    parser.add_argument("--framerate", type=float, default=2.0, help="frames per second of the evaluation grid")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--per-game", action="store_true",
                        help="also each game's a-mAP, worst first by the first model "
                             "(JSON: per_game = {game: {model: a_mAP}})")
    parser.add_argument("--csv", type=Path, default=None,
                        help="write one row per game and model: game, model, metric, a_mAP, num_labels, "
                             "num_predictions (refuses to overwrite a file without --force)")
    parser.add_argument("--force", action="store_true", help="overwrite the --csv file if it exists")
    parser.add_argument("--missing-as-empty", action="store_true",
                        help="count a game without a prediction file as having no predictions (default: error)")
    parser.add_argument("--skip-unknown", action="store_true",
                        help="drop labels outside the 17 classes, as the official evaluator does (default: error)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tqdm import tqdm

    dirs: list[Path] = args.predictions_dir
    for directory in dirs:
        if not directory.is_dir():
            raise InputError(directory, "predictions folder not found", "check --predictions-dir")
    if args.csv is not None and args.csv.exists() and not args.force:
        raise InputError(args.csv, "already exists", "pass --force to overwrite it or choose another --csv file")
    if args.csv is not None and not args.csv.parent.is_dir():
        raise InputError(args.csv.parent, "folder not found", "create it or choose another --csv file")
    names = model_names(dirs)
    with tqdm(total=0, desc="reading games", unit="game", disable=None, file=sys.stderr) as bar:
        def progress_from(offset: int) -> Progress:
            def progress(done: int, total: int) -> None:
                bar.total = total * (1 + len(dirs))
                bar.update(offset * total + done - bar.n)
            return progress

        games, labels, absent = load_labels_set(args.soccernet_dir, args.split, args.skip_unknown, progress_from(0))
        models = []
        for k, (directory, name) in enumerate(zip(dirs, names), start=1):
            model = load_model_predictions(directory, games, args.prediction_file, args.missing_as_empty, name,
                                           progress_from(k), "skip" if args.skip_unknown else "error", args.framerate)
            check_model(model, directory, args.prediction_file)
            models.append(model)
    results = [average_map(labels, m.predictions, metric=args.metric, framerate=args.framerate) for m in models]
    several = len(models) > 1
    warnings = [w for m in models for w in m.warnings]
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if warnings:
        print(f"note: {len(warnings)} results file(s) hold predictions that SoccerNet's evaluate() accepts "
              "but that look unusual (see the warnings above); they are counted exactly as it counts them",
              file=sys.stderr)
    if absent:
        print(f"note: {len(absent)} game(s) of the {args.split} split are not under "
              f"{args.soccernet_dir}; evaluated the {len(games)} found", file=sys.stderr)
    for m in models:
        if m.missing:
            print(f"note: {m.name + ': ' if several else ''}{len(m.missing)} game(s) have no {args.prediction_file}; "
                  "counted as having no predictions", file=sys.stderr)
    per_game = None
    if args.per_game or args.csv is not None:
        per_game = [per_game_average_map(labels, m.predictions, args.metric, args.framerate) for m in models]
    if args.csv is not None:
        rows = per_game_rows(games, names, per_game)
        write_csv(args.csv, rows, force=args.force)
        print(f"note: wrote {len(rows)} rows (game × model) to {args.csv}", file=sys.stderr)
    if args.json:
        if several:
            output = models_json(results, models, dirs, absent)
        else:
            output = result_json(results[0], EvaluationSet(games, labels, models[0].predictions, models[0].missing,
                                                            absent, models[0].warnings))
        if args.per_game:
            output["per_game"] = {g: {n: float(p.a_mAP[i]) for n, p in zip(names, per_game)}
                                  for i, g in enumerate(games)}
        print(json.dumps(output, indent=1))
    else:
        print(format_models_table(names, results) if several else format_table(results[0]))
        if args.per_game:
            print("\n" + format_per_game(games, names, per_game))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
