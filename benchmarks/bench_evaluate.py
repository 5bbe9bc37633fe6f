"""Average-mAP: SoccerNet's ``evaluate()`` vs ``spotting.metrics`` on the 100 real test games.

    python -m benchmarks.bench_evaluate [--data ../shared/data] [--repeats 5]

Prints, for ``loose`` and ``tight``: the official time, ours end to end (reading the 200 JSON files +
computing, like the official call) and compute only, the speed-up ratio and the largest difference
over every figure; then the time to recompute one game's figures after a threshold change
(``game_figures`` + ``match_events`` on the thresholded predictions). Goals: >= 20x, <= 50 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import time
from pathlib import Path

import numpy as np

from spotting.evaluate import evaluate_folder, load_evaluation_set
from spotting.metrics import average_map, game_figures, match_events

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median wall time (s) over ``repeats`` calls and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with soccernet/ and predictions/netvlad_v2/")
    parser.add_argument("--repeats", type=int, default=5, help="runs of ours per figure (median)")
    args = parser.parse_args()
    from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate

    labels_dir, predictions_dir = args.data / "soccernet", args.data / "predictions" / "netvlad_v2"
    data = load_evaluation_set(labels_dir, predictions_dir, split="test")
    print(f"{len(data.games)} test games, {sum(len(p) for p in data.predictions)} predictions, "
          f"{sum(len(lab) for lab in data.labels)} labels")
    print(f"{'metric':<7} {'official s':>10} {'ours s':>8} {'compute s':>9} {'ratio':>7} {'max |diff|':>11}  a_mAP")
    for metric in ("loose", "tight"):
        start = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()):  # its tqdm bars
            official = official_evaluate(str(labels_dir), str(predictions_dir), split="test", version=2, metric=metric)
        official_s = time.perf_counter() - start
        ours_s, ours = timed(lambda: evaluate_folder(labels_dir, predictions_dir, split="test", metric=metric),
                             args.repeats)
        compute_s, _ = timed(lambda: average_map(data.labels, data.predictions, metric=metric), args.repeats)
        ours_dict = ours.to_dict()
        diff = max(float(np.max(np.abs(np.asarray(ours_dict[k], float) - np.asarray(v, float))))
                   for k, v in official.items())
        print(f"{metric:<7} {official_s:10.2f} {ours_s:8.3f} {compute_s:9.3f} {official_s / ours_s:6.0f}x "
              f"{diff:11.1e}  {ours.a_mAP:.5f}")

    # One game, the threshold slider moving: everything the app recomputes.
    game = int(np.argmax([len(p) for p in data.predictions]))
    labels, predictions = data.labels[game], data.predictions[game]
    thresholds = np.linspace(0.05, 0.95, 40)
    times = []
    for tolerance in (1.0, 5.0, 30.0):
        for threshold in thresholds:
            start = time.perf_counter()
            game_figures(labels, predictions, tolerance_s=tolerance, threshold=threshold)
            match_events(labels, predictions.select(predictions.confidence >= threshold), tolerance_s=tolerance)
            times.append(time.perf_counter() - start)
    times_ms = 1000 * np.array(times)
    print(f"one game ({len(labels)} labels, {len(predictions)} predictions), threshold change -> "
          f"game_figures + match_events: median {np.median(times_ms):.1f} ms, max {times_ms.max():.1f} ms "
          f"over {len(times)} changes (goal <= 50 ms)")


if __name__ == "__main__":
    main()
