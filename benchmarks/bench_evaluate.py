"""Average-mAP: SoccerNet's ``evaluate()`` vs ``spotting.metrics`` on the 100 real test games.

    python -m benchmarks.bench_evaluate [--data ../shared/data] [--models netvlad_v2 fusion_2021] [--repeats 7]

For each model (folder under ``<data>/predictions``) and for ``loose`` and ``tight``, side by side
in one run: the official ``evaluate()`` (once: it takes seconds), ours end to end (reading the 200
JSON files + computing, like the official call) and the evaluation core alone (``average_map`` on
events already read: the figure the goal is about), each the median of ``--repeats`` runs; the
ratios official / ours; and the largest |difference| over every figure the official call returns
(both of ours). Then the time to recompute one game's figures after a threshold change
(``game_figures`` + ``match_events`` on the thresholded predictions).
Goals: core >= 100x the official evaluator, identical figures (<= 1e-9), threshold change <= 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from spotting.evaluate import evaluate_folder, load_evaluation_set
from spotting.metrics import SpottingMetrics, average_map, game_figures, match_events

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MODELS = ("netvlad_v2", "fusion_2021")
GOAL_RATIO = 100.0
GOAL_DIFF = 1e-9
T = TypeVar("T")


def timed(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median wall time (s) over ``repeats`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def max_difference(official: dict, ours: SpottingMetrics) -> float:
    """Largest |ours - official| over every value of the official result dict (scalars and per-class)."""
    ours_dict = ours.to_dict()
    return max(float(np.max(np.abs(np.asarray(ours_dict[key], float) - np.asarray(value, float))))
               for key, value in official.items())


def bench_model(data_dir: Path, model: str, repeats: int) -> list[tuple[float, float]]:
    """Print one line per metric; returns ``(core ratio, max |diff|)`` per metric."""
    from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate

    labels_dir, predictions_dir = data_dir / "soccernet", data_dir / "predictions" / model
    data = load_evaluation_set(labels_dir, predictions_dir, split="test")
    print(f"\n{model}: {len(data.games)} test games, {sum(len(p) for p in data.predictions)} predictions, "
          f"{sum(len(lab) for lab in data.labels)} labels")
    print(f"{'metric':<7} {'official s':>10} {'end-to-end s':>12} {'core s':>8} {'official/e2e':>12} "
          f"{'official/core':>13} {'max |diff|':>10}  a_mAP")
    outcomes = []
    for metric in ("loose", "tight"):
        start = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bars
            official = official_evaluate(str(labels_dir), str(predictions_dir), split="test", version=2, metric=metric)
        official_s = time.perf_counter() - start
        e2e_s, e2e = timed(lambda: evaluate_folder(labels_dir, predictions_dir, split="test", metric=metric), repeats)
        core_s, core = timed(lambda: average_map(data.labels, data.predictions, metric=metric), repeats)
        diff = max(max_difference(official, e2e), max_difference(official, core))
        ratio = official_s / core_s
        print(f"{metric:<7} {official_s:10.2f} {e2e_s:12.3f} {core_s:8.4f} {official_s / e2e_s:11.0f}x "
              f"{ratio:12.0f}x {diff:10.1e}  {core.a_mAP:.5f}")
        outcomes.append((ratio, diff))
    return outcomes


def bench_threshold_change(data_dir: Path) -> None:
    """One game, the threshold slider moving: everything the app recomputes."""
    data = load_evaluation_set(data_dir / "soccernet", data_dir / "predictions" / MODELS[0], split="test")
    game = int(np.argmax([len(p) for p in data.predictions]))
    labels, predictions = data.labels[game], data.predictions[game]
    times = []
    for tolerance in (1.0, 5.0, 30.0):
        for threshold in np.linspace(0.05, 0.95, 40):
            start = time.perf_counter()
            game_figures(labels, predictions, tolerance_s=tolerance, threshold=threshold)
            match_events(labels, predictions.select(predictions.confidence >= threshold), tolerance_s=tolerance)
            times.append(time.perf_counter() - start)
    times_ms = 1000 * np.array(times)
    print(f"\none game ({len(labels)} labels, {len(predictions)} predictions), threshold change -> "
          f"game_figures + match_events: median {np.median(times_ms):.1f} ms, max {times_ms.max():.1f} ms "
          f"over {len(times)} changes (goal <= 50 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with soccernet/ and predictions/<model>/")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="prediction folders under <data>/predictions")
    parser.add_argument("--repeats", type=int, default=7, help="runs of ours per figure (median)")
    args = parser.parse_args()

    outcomes = [o for model in args.models for o in bench_model(args.data, model, args.repeats)]
    ratios, diffs = [r for r, _ in outcomes], [d for _, d in outcomes]
    met = min(ratios) >= GOAL_RATIO and max(diffs) <= GOAL_DIFF
    print(f"\ncore vs official: {min(ratios):.0f}x to {max(ratios):.0f}x (goal >= {GOAL_RATIO:.0f}x), "
          f"max |diff| over every figure {max(diffs):.1e} (goal <= {GOAL_DIFF:.0e}): "
          f"{'goal met' if met else 'GOAL NOT MET'}")
    bench_threshold_change(args.data)


if __name__ == "__main__":
    main()
