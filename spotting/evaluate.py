"""Evaluate ``results_spotting.json`` files with SoccerNet's Average-mAP (official-equal, fast).

    python -m spotting.evaluate --soccernet-dir D --predictions-dir P [--split test]
        [--metric loose|tight|at1..at5] [--prediction-file results_spotting.json] [--json]
        [--missing-as-empty] [--skip-unknown]

Games: with ``--split`` the official list of that split (games absent from D are skipped with a
note); without it, every game folder under D that has a ``Labels-v2.json``. Each game's predictions
are ``P/<league>/<season>/<game>/<prediction file>`` (string-valued official files or numeric ones).

A game without a prediction file is an error naming that file (the official evaluator crashes on
it); ``--missing-as-empty`` counts such a game as having no predictions instead (its events are
all missed). Unknown labels are an error naming the file; ``--skip-unknown`` drops them silently,
as the official evaluator does.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


from spotting.cli import run_cli
from spotting.errors import InputError
from spotting.metrics import METRICS, SpottingMetrics, average_map, metric_deltas
from spotting.results import RESULTS_FILE, read_results_file
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


def load_evaluation_set(soccernet_dir: str | Path, predictions_dir: str | Path, split: str | None = None,
                        prediction_file: str = RESULTS_FILE, missing_as_empty: bool = False,
                        skip_unknown: bool = False, progress: Progress | None = None,
                        framerate: float = 2.0) -> EvaluationSet:
    """Read the labels and predictions of every game to evaluate (see the module docstring).

    Results files are read as SoccerNet's evaluator reads them (:func:`spotting.results.parse_results_file`);
    each file with something unusual in it (negative positions, confidences outside [0, 1], ...) gives
    one line in ``warnings``.
    """
    soccernet_dir, predictions_dir = Path(soccernet_dir), Path(predictions_dir)
    if not predictions_dir.is_dir():
        raise InputError(predictions_dir, "predictions folder not found", "check --predictions-dir")
    games = find_games(soccernet_dir, split=split, require="labels")
    absent: list[str] = []
    if split is not None:
        from SoccerNet.utils import getListGames

        present = {g.name for g in games}
        absent = [name for name in getListGames(split) if name not in present]
    if not games:
        what = f"no game of the {split!r} split with a Labels-v2.json" if split else "no game folder with a Labels-v2.json"
        raise InputError(soccernet_dir, what, "point --soccernet-dir at your SoccerNet root")
    missing = [g.name for g in games if not (predictions_dir / g.name / prediction_file).is_file()]
    if missing and not missing_as_empty:
        more = f" ({len(missing) - 1} more game(s) lack one too)" if len(missing) > 1 else ""
        raise InputError(predictions_dir / missing[0] / prediction_file, f"prediction file not found{more}",
                         "write predictions for every evaluated game, restrict the games with --split, "
                         "or pass --missing-as-empty to count such games as having no predictions")
    unknown = "skip" if skip_unknown else "error"
    labels, predictions, warnings = [], [], []
    missing_set = set(missing)
    for done, game in enumerate(games, start=1):
        labels.append(read_labels(game.labels_path, unknown=unknown))
        if game.name in missing_set:
            predictions.append(Annotations.empty())
        else:
            results = read_results_file(predictions_dir / game.name / prediction_file, unknown=unknown,
                                        framerate=framerate)
            predictions.append(results.events)
            if results.warning:
                warnings.append(results.warning)
        if progress is not None:
            progress(done, len(games))
    return EvaluationSet([g.name for g in games], labels, predictions, missing, absent, warnings)


def evaluate_folder(soccernet_dir: str | Path, predictions_dir: str | Path, split: str | None = None,
                    metric: str = "loose", prediction_file: str = RESULTS_FILE, missing_as_empty: bool = False,
                    skip_unknown: bool = False, framerate: float = 2.0,
                    progress: Progress | None = None) -> SpottingMetrics:
    """Average-mAP of a predictions folder: equal to ``SoccerNet.Evaluation.ActionSpotting.evaluate``."""
    metric_deltas(metric)  # fail on a bad metric before reading anything
    data = load_evaluation_set(soccernet_dir, predictions_dir, split, prediction_file, missing_as_empty,
                               skip_unknown, progress, framerate)
    return average_map(data.labels, data.predictions, metric=metric, framerate=framerate)


def format_table(result: SpottingMetrics) -> str:
    """A readable table: overall, per class, visible / unshown (in percent) and the counts behind them."""
    deltas = result.deltas_s
    span = f"{deltas[0]:g} s" if len(deltas) == 1 else f"{deltas[0]:g}..{deltas[-1]:g} s"

    def row(name: str, a_map: float, visible: float, unshown: float, labels: int, not_shown: int, preds: int) -> str:
        return (f"{name:<20} {100 * a_map:7.2f} {100 * visible:8.2f} {100 * unshown:8.2f} "
                f"{labels:7d} {not_shown:9d} {preds:11d}")

    header = f"{'class':<20} {'a-mAP':>7} {'visible':>8} {'unshown':>8} {'labels':>7} {'not shown':>9} {'predictions':>11}"
    labels = result.num_labels_visible + result.num_labels_unshown
    lines = [f"Average-mAP ({result.metric}, tolerance {span}) over {result.num_games} game(s)", "", header,
             "-" * len(header),
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m spotting.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--soccernet-dir", required=True, type=Path, help="SoccerNet root holding the Labels-v2.json files")
    parser.add_argument("--predictions-dir", required=True, type=Path, help="root holding <game>/<prediction file>")
    parser.add_argument("--split", choices=("train", "valid", "test", "challenge"), default=None,
                        help="evaluate the official list of this split (default: every game with labels)")
    parser.add_argument("--metric", choices=METRICS, default="loose")
    parser.add_argument("--prediction-file", default=RESULTS_FILE, help="file name inside each game folder")
    parser.add_argument("--framerate", type=float, default=2.0, help="frames per second of the evaluation grid")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--missing-as-empty", action="store_true",
                        help="count a game without a prediction file as having no predictions (default: error)")
    parser.add_argument("--skip-unknown", action="store_true",
                        help="drop labels outside the 17 classes, as the official evaluator does (default: error)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tqdm import tqdm

    with tqdm(total=0, desc="reading games", unit="game", disable=None, file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        data = load_evaluation_set(args.soccernet_dir, args.predictions_dir, args.split, args.prediction_file,
                                   args.missing_as_empty, args.skip_unknown, progress, args.framerate)
    result = average_map(data.labels, data.predictions, metric=args.metric, framerate=args.framerate)
    for warning in data.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if data.warnings:
        print(f"note: {len(data.warnings)} results file(s) hold predictions that SoccerNet's evaluate() accepts "
              "but that look unusual (see the warnings above); they are counted exactly as it counts them",
              file=sys.stderr)
    if data.absent_from_split:
        print(f"note: {len(data.absent_from_split)} game(s) of the {args.split} split are not under "
              f"{args.soccernet_dir}; evaluated the {len(data.games)} found", file=sys.stderr)
    if data.missing_predictions:
        print(f"note: {len(data.missing_predictions)} game(s) have no {args.prediction_file}; "
              "counted as having no predictions", file=sys.stderr)
    if args.json:
        print(json.dumps(result_json(result, data), indent=1))
    else:
        print(format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
