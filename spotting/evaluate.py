"""Evaluate ``results_spotting.json`` files with SoccerNet's Average-mAP (official-equal, fast).

    python -m spotting.evaluate --soccernet-dir D --predictions-dir P [--predictions-dir P2 ...]
        [--split all|test|SUB-FOLDER|FILE] [--metric loose|tight|at1..at5] [--prediction-file results_spotting.json]
        [--classes soccernet-v2|ball-2023|ball-2024|FILE] [--labels-file NAME] [--framerate FPS]
        [--json] [--per-game] [--csv FILE [--force]] [--missing-as-empty] [--skip-unknown]

D and each P are folders or zips laid out as SoccerNet's (``<league>/<season>/<game>/<file>``), as
SoccerNet's ``evaluate()`` reads them. The class set, its label file name, the evaluation frame rate
and the default metric come from the data: ``Labels-v2.json`` with SoccerNet-v2 labels is
SoccerNet-v2 (17 classes, 2 fps, loose Average-mAP), ``Labels-ball.json`` with PASS / DRIVE is Ball
Action Spotting 2023 (25 fps, ``at1`` = the challenge's mAP@1), its 12 classes 2024's; the flags
override each.

Games (``--split``, as in every command, :mod:`spotting.selection`): ``all`` (the default: every game
folder under D that has a label file), an official split (its official list, of the set's SoccerNet
dataset), a sub-folder of D, or a file listing game folders; listed games absent from D are named in
a note. Each
game's predictions are ``P/<league>/<season>/<game>/<prediction file>`` (string-valued official
files or numeric ones).

Several ``--predictions-dir`` compare models: each is named by its folder's name (a repeated name
gets ``-2``, ``-3``, ...) and the table shows them side by side. ``--per-game`` adds each game's
a-mAP (worst first by the first model); ``--csv FILE`` writes one row per game and model.

A game without a prediction file is an error naming that file (the official evaluator crashes on
it); ``--missing-as-empty`` counts such a game as having no predictions instead (its events are
all missed, and the games are named). Unknown labels are an error naming the file;
``--skip-unknown`` drops them, as the official evaluator does — and says so when nothing is left.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from spotting.analysis import per_game_average_map, per_game_rows
from spotting.prediction_sets import ModelPredictions, load_model_predictions, model_names
from spotting.cli import plural, print_summary, run_cli
from spotting.datatree import Tree, data_specifications, open_tree
from spotting.errors import InputError
from spotting.metrics import METRICS, SpottingMetrics, average_map, metric_deltas
from spotting.options import (add_force, add_soccernet_dir, add_split, add_task_options, command_parser,
                              require_soccernet_dir)
from spotting.results import RESULTS_FILE
from spotting.selection import ALL, find_games, resolve_split
from spotting.soccernet import Annotations, parse_labels, unknown_label_fix
from spotting.specs import SOCCERNET_V2, Specifications
from spotting.tables import format_models_table, format_per_game, format_table

__all__ = ["EvaluationSet", "data_specifications", "load_labels_set", "check_model", "load_evaluation_set",
           "evaluate_folder", "format_table", "format_models_table", "format_per_game", "result_json", "models_json",
           "main", "cli"]

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
    spec: Specifications = SOCCERNET_V2  # class set, label file and evaluation frame rate


def _nothing_left(where: str | Path, what: str, spec: Specifications, skipped: Counter) -> InputError:
    names = ", ".join(f"{n!r} ×{c}" for n, c in skipped.most_common(5)) + (", ..." if len(skipped) > 5 else "")
    return InputError(where, f"--skip-unknown left no {what} to score: all {sum(skipped.values())} are outside "
                      f"{spec.describe()} ({names})", unknown_label_fix(spec))


def load_labels_set(soccernet_dir: str | Path, split: str | None = None, skip_unknown: bool = False,
                    progress: Progress | None = None,
                    spec: Specifications | None = None) -> tuple[list[str], list[Annotations], list[str]]:
    """``(games, labels, absent_from_split)`` of the games to evaluate (see the module docstring).

    ``soccernet_dir`` is a folder or a zip; ``split`` one of :mod:`spotting.selection`'s (None: ``all``);
    ``spec`` the class set (None: SoccerNet-v2). Raises :class:`InputError` when no game has a label
    file, or when ``skip_unknown`` drops every label."""
    spec = spec or SOCCERNET_V2
    tree = open_tree(soccernet_dir, "SoccerNet", "--soccernet-dir")
    names, absent = _label_games(tree, split or ALL, spec)
    if not names:
        what = (f"no game of the {split!r} split with a {spec.labels_file}" if split and split != ALL
                else f"no game folder with a {spec.labels_file}")
        raise InputError(soccernet_dir, what, "point --soccernet-dir at your SoccerNet root (or pass --labels-file)")
    labels, skipped = [], Counter()
    for done, name in enumerate(names, start=1):
        relative = f"{name}/{spec.labels_file}"
        labels.append(parse_labels(tree.read_json(relative), tree.where(relative),
                                   unknown="skip" if skip_unknown else "error", classes=spec, skipped=skipped))
        if progress is not None:
            progress(done, len(names))
    if skipped and not any(len(a) for a in labels):
        raise _nothing_left(soccernet_dir, "labels", spec, skipped)
    return names, labels, absent


def _label_games(tree: Tree, split: str, spec: Specifications) -> tuple[list[str], list[str]]:
    """The games of ``split`` with a label file, and the listed ones (split file, official split) absent."""
    if not tree.is_zip:
        left_out: list[tuple[str, str]] = []
        games = find_games(tree.path, split, require="labels", labels_file=spec.labels_file, dataset=spec.dataset,
                           skipped=left_out)
        return [g.name for g in games], [name for name, reason in left_out if reason == "not found"]
    present = tree.games_with(spec.labels_file)
    kind, names = resolve_split(split, tree.path, spec.dataset,
                                is_folder=lambda folder: any(g.startswith(folder + "/") for g in present),
                                folders=sorted({g.split("/")[0] for g in present if "/" in g}))
    if kind == "all":
        return present, []
    if kind == "folder":
        return [g for g in present if g.startswith(names[0] + "/")], []
    there = set(present)
    return [g for g in names if g in there], [g for g in names if g not in there]


def check_model(model: ModelPredictions, predictions_dir: str | Path, prediction_file: str = RESULTS_FILE) -> None:
    """Raise :class:`InputError` (one line naming the file) for a missing file (unless missing files
    count as empty), an unreadable one, or (under ``--skip-unknown``) predictions all outside the set."""
    if model.missing and not model.missing_as_empty:
        more = f" ({len(model.missing) - 1} more game(s) lack one too)" if len(model.missing) > 1 else ""
        where = Tree(predictions_dir).where(f"{model.missing[0]}/{prediction_file}")
        raise InputError(where, f"prediction file not found{more}",
                         "write predictions for every evaluated game, restrict the games with --split, "
                         "or pass --missing-as-empty to count such games as having no predictions")
    if model.errors:
        others = len(model.errors) - 1
        more = f" ({others} more file(s) of {model.name} cannot be read either)" if others else ""
        raise InputError(None, model.errors[0] + more)
    if model.skipped and not any(len(p) for p in model.predictions):
        raise _nothing_left(predictions_dir, "predictions", model.spec, model.skipped)


def load_evaluation_set(soccernet_dir: str | Path, predictions_dir: str | Path, split: str | None = None,
                        prediction_file: str = RESULTS_FILE, missing_as_empty: bool = False,
                        skip_unknown: bool = False, progress: Progress | None = None,
                        framerate: float | None = None, spec: Specifications | None = None) -> EvaluationSet:
    """Read the labels and predictions of every game to evaluate (see the module docstring).

    ``spec`` None recognises the class set from the labels (:func:`data_specifications`); ``framerate``
    overrides its evaluation rate. Results files are read as SoccerNet's evaluator reads them
    (:func:`spotting.results.parse_results_file`); each file with something unusual in it (negative
    positions, confidences outside [0, 1], ...) gives one line in ``warnings``.
    """
    open_tree(predictions_dir)  # a missing predictions folder is named before the labels are read
    spec = (spec or data_specifications(soccernet_dir)[0]).replace(framerate=framerate)
    games, labels, absent = load_labels_set(soccernet_dir, split, skip_unknown, spec=spec)
    model = load_model_predictions(predictions_dir, games, prediction_file, missing_as_empty, progress=progress,
                                   unknown="skip" if skip_unknown else "error", framerate=spec.framerate, spec=spec)
    check_model(model, predictions_dir, prediction_file)
    return EvaluationSet(games, labels, model.predictions, model.missing, absent, model.warnings, spec)


def evaluate_folder(soccernet_dir: str | Path, predictions_dir: str | Path, split: str | None = None,
                    metric: str | None = None, prediction_file: str = RESULTS_FILE, missing_as_empty: bool = False,
                    skip_unknown: bool = False, framerate: float | None = None,
                    progress: Progress | None = None, spec: Specifications | None = None) -> SpottingMetrics:
    """Average-mAP of a predictions folder or zip: equal to ``SoccerNet.Evaluation.ActionSpotting.evaluate``
    with the set's ``framerate`` and ``EVENT_DICTIONARY`` (``metric`` None: the set's, loose or at1)."""
    if metric is not None:
        metric_deltas(metric)  # fail on a bad metric before reading anything
    data = load_evaluation_set(soccernet_dir, predictions_dir, split, prediction_file, missing_as_empty,
                               skip_unknown, progress, framerate, spec)
    metric = metric or data.spec.metric
    return average_map(data.labels, data.predictions, metric=metric, framerate=data.spec.framerate,
                       num_classes=data.spec.num_classes)


def result_json(result: SpottingMetrics, data: EvaluationSet) -> dict:
    """SoccerNet's ``evaluate()`` dict plus what was evaluated."""
    return {
        **result.to_dict(),
        "metric": result.metric,
        "deltas_s": [float(d) for d in result.deltas_s],
        "classes": list(data.spec.classes),
        "framerate": data.spec.framerate,
        "labels_file": data.spec.labels_file,
        "mAP_per_delta": [float(m) for m in result.mAP_per_delta],
        "num_games": result.num_games,
        "games_without_predictions": data.missing_predictions,
        "split_games_not_found": data.absent_from_split,
        "warnings": data.warnings,
    }


def models_json(results: list[SpottingMetrics], models: list[ModelPredictions], dirs: list[Path],
                absent: list[str], spec: Specifications = SOCCERNET_V2) -> dict:
    """Several models: what was evaluated, and ``models`` = {name: evaluate() dict plus its details}."""
    first = results[0]
    return {
        "metric": first.metric,
        "deltas_s": [float(d) for d in first.deltas_s],
        "classes": list(spec.classes),
        "framerate": spec.framerate,
        "labels_file": spec.labels_file,
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
    parser = command_parser("python -m spotting.evaluate", __doc__.split("\n")[0], [
        "python -m spotting.evaluate --soccernet-dir ~/SoccerNet --predictions-dir preds/ --split test",
        "python -m spotting.evaluate --soccernet-dir ~/SoccerNet --split test --per-game --predictions-dir A --predictions-dir B"])
    add_soccernet_dir(parser, " (or a zip of them), each with its label file")
    parser.add_argument("--predictions-dir", required=True, type=Path, action="append",
                        help="folder or zip holding <game>/<prediction file>; repeat it to compare models "
                             "(named by folder)")
    add_split(parser, default=ALL, role="; 'all' here: every game with a label file")
    parser.add_argument("--metric", choices=METRICS, default=None,
                        help="default: the class set's (loose for SoccerNet-v2, at1 = mAP@1 for Ball Action)")
    parser.add_argument("--prediction-file", default=RESULTS_FILE, help="file name inside each game folder")
    add_task_options(parser, "of the evaluation grid, as SoccerNet's evaluate(framerate=)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--per-game", action="store_true",
                        help="also each game's a-mAP, worst first by the first model "
                             "(JSON: per_game = {game: {model: a_mAP}})")
    parser.add_argument("--csv", type=Path, default=None,
                        help="write one row per game and model: game, model, metric, a_mAP, num_labels, "
                             "num_predictions (refuses to overwrite a file without --force)")
    add_force(parser, "the --csv file")
    parser.add_argument("--missing-as-empty", action="store_true",
                        help="count a game without a prediction file as having no predictions (default: error)")
    parser.add_argument("--skip-unknown", action="store_true",
                        help="drop labels outside the class set, as the official evaluator does (default: error)")
    return parser


def _notes(args: argparse.Namespace, spec: Specifications, reason: str, metric: str, games: list[str],
           absent: list[str], models: list[ModelPredictions]) -> list[str]:
    """The lines printed on stderr after an evaluation: unusual files, the class set when it is not
    SoccerNet-v2's, and every game left out or counted as empty, by name."""
    several = len(models) > 1
    warnings = [w for m in models for w in m.warnings]
    lines = [f"warning: {w}" for w in warnings]
    if warnings:
        lines.append(f"note: {len(warnings)} results file(s) hold predictions that SoccerNet's evaluate() accepts "
                     "but that look unusual (see the warnings above); they are counted exactly as it counts them")
    if spec.name != SOCCERNET_V2.name or spec.framerate != SOCCERNET_V2.framerate:
        lines.append(f"note: class set {spec.describe()} ({reason}); metric {metric}"
                     + (" (the Ball Action challenge's mAP@1)" if metric == "at1" else ""))
    if absent:
        lines.append(f"note: {len(absent)} game(s) of the {args.split} split are not under "
                     f"{args.soccernet_dir} with a {spec.labels_file}; evaluated the {len(games)} found. Left out:")
        lines += [f"  {name}" for name in absent]
    for m in models:
        if m.missing:
            lines.append(f"note: {m.name + ': ' if several else ''}{len(m.missing)} game(s) have no "
                         f"{args.prediction_file}; counted as having no predictions:")
            lines += [f"  {name}" for name in m.missing]
    return lines


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    require_soccernet_dir(args)
    from tqdm import tqdm

    dirs: list[Path] = args.predictions_dir
    for directory in dirs:
        open_tree(directory, flag="--predictions-dir")
    if args.csv is not None and args.csv.exists() and not args.force:
        raise InputError(args.csv, "already exists", "pass --force to overwrite it or choose another --csv file")
    if args.csv is not None and not args.csv.parent.is_dir():
        raise InputError(args.csv.parent, "folder not found", "create it or choose another --csv file")
    spec, reason = data_specifications(args.soccernet_dir, args.classes, args.labels_file, args.framerate)
    metric = args.metric or spec.metric
    names = model_names(dirs)
    unknown = "skip" if args.skip_unknown else "error"
    with tqdm(total=0, desc="reading games", unit="game", disable=None, file=sys.stderr) as bar:
        def progress_from(offset: int) -> Progress:
            def progress(done: int, total: int) -> None:
                bar.total = total * (1 + len(dirs))
                bar.update(offset * total + done - bar.n)
            return progress

        games, labels, absent = load_labels_set(args.soccernet_dir, args.split, args.skip_unknown, progress_from(0),
                                                spec)
        models = []
        for k, (directory, name) in enumerate(zip(dirs, names), start=1):
            model = load_model_predictions(directory, games, args.prediction_file, args.missing_as_empty, name,
                                           progress_from(k), unknown, spec.framerate, spec)
            check_model(model, directory, args.prediction_file)
            models.append(model)
    results = [average_map(labels, m.predictions, metric=metric, framerate=spec.framerate,
                           num_classes=spec.num_classes) for m in models]
    several = len(models) > 1
    for line in _notes(args, spec, reason, metric, games, absent, models):
        print(line, file=sys.stderr)
    per_game = None
    if args.per_game or args.csv is not None:
        per_game = [per_game_average_map(labels, m.predictions, metric, spec.framerate, spec.num_classes)
                    for m in models]
    if args.csv is not None:
        rows = per_game_rows(games, names, per_game)
        write_csv(args.csv, rows, force=args.force)
        print(f"note: wrote {len(rows)} rows (game × model) to {args.csv}", file=sys.stderr)
    if args.json:
        if several:
            output = models_json(results, models, dirs, absent, spec)
        else:
            output = result_json(results[0], EvaluationSet(games, labels, models[0].predictions, models[0].missing,
                                                            absent, models[0].warnings, spec))
        if args.per_game:
            output["per_game"] = {g: {n: float(p.a_mAP[i]) for n, p in zip(names, per_game)}
                                  for i, g in enumerate(games)}
        print(json.dumps(output, indent=1))
    else:
        print(format_models_table(names, results, spec.classes) if several else format_table(results[0], spec.classes))
        if args.per_game:
            print("\n" + format_per_game(games, names, per_game))
    written = f"{'JSON' if args.json else 'table'} written to stdout" + (f" and {args.csv}" if args.csv else "")
    print_summary("evaluate", f"{plural(len(games), 'game')} read from {args.soccernet_dir} (split {args.split}) and "
                  f"{plural(len(models), 'prediction set')}", written, started)
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``python -m spotting.evaluate`` / ``spotting-evaluate``: bad input → exit 2 with one line."""
    return run_cli(main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
