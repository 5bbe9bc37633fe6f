"""Per-class post-processing calibrated on validation games, stored with the model.

Where a class's segmentation curve rises relative to its annotated moment depends on the class and
the data: a goal is annotated as the curve rises, a yellow card several seconds after (the foul's
aftermath starts the curve). :func:`calibrate_refinement` picks, for each class independently,
the :class:`~spotting.postprocess.Refinement` setting (off, or on with an offset) that maximises
loose + tight Average-mAP (for a set scored otherwise, e.g. Ball Action: its metric + tight, at its
evaluation rate) of that class on validation games. Classes never interact in
Average-mAP (per-class NMS, per-class AP), so one pass over a grid of settings scores every class.

    python -m spotting.calibration --checkpoint runs/calf/best.pt --soccernet-dir D --valid-split valid --force

Training calls it at the end on its validation games; this command (re)calibrates any checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spotting.metrics import average_map
from spotting.postprocess import (DEFAULT_NMS_WINDOW_S, DEFAULT_REFINE_OFFSET_S, DEFAULT_REFINE_WINDOW_S,
                                  Refinement, candidate_events, default_nms_window_s, default_refinement,
                                  refined_events)
from spotting.soccernet import Annotations
from spotting.specs import SOCCERNET_V2, Specifications

OFFSETS_S = np.arange(-10.0, 15.0 + 1e-9, 0.5)  # the curve may rise up to 15 s before or 10 s after the moment
WINDOWS_S = (5.0, 10.0, 15.0)  # how far from the spotting head's position to look for the rise


def calibrate_refinement(scores: list, labels: list[Annotations], nms_window_s: float = DEFAULT_NMS_WINDOW_S,
                         windows_s: tuple[float, ...] = WINDOWS_S,
                         spec: Specifications = SOCCERNET_V2) -> tuple[Refinement, dict]:
    """Each class's best setting on these games (``GameScores`` + labels, same order).

    Returns the refinement and a report ``{"default": (loose, tight), "calibrated": (loose, tight)}``
    of Average-mAP on these games. The uniform default is tried first and kept on ties.
    """
    first = default_refinement(spec)
    settings = [(first.window_s[0], first.offset_s[0]), (DEFAULT_REFINE_WINDOW_S, DEFAULT_REFINE_OFFSET_S), (0.0, 0.0)]
    settings = list(dict.fromkeys(settings))  # the task's default first (kept on ties), each setting once
    settings += [(float(w), float(o)) for w in windows_s for o in OFFSETS_S]
    num_classes = next(iter(scores[0].halves.values())).detection.shape[1]
    metrics = ("loose", "tight") if spec.metric == "loose" else (spec.metric, "tight")
    per_class = np.zeros((len(settings), 2, num_classes))
    candidates = [candidate_events(s, nms_window_s) for s in scores]  # the same for every setting
    for i, (window, offset) in enumerate(settings):
        predictions = [refined_events(c, s, nms_window_s, refinement=Refinement.uniform(window, offset))
                       for c, s in zip(candidates, scores)]
        for j, metric in enumerate(metrics):
            per_class[i, j] = average_map(labels, predictions, metric, spec.framerate, num_classes).a_mAP_per_class
    best = (per_class.sum(axis=1)).argmax(axis=0)  # first maximum: the default wins ties
    refinement = Refinement(tuple(float(settings[b][0]) for b in best), tuple(float(settings[b][1]) for b in best))
    chosen = per_class[best, :, np.arange(num_classes)]  # (C, 2)
    report = {"default": tuple(float(v) for v in per_class[0].mean(axis=1)),
              "calibrated": tuple(float(v) for v in chosen.mean(axis=0)), "metrics": metrics}
    return refinement, report


def calibrate_checkpoint(path: Path, games: list, out: Path | None = None,
                         device: str = "auto") -> tuple[Refinement, dict]:
    """Infer ``games`` with the checkpoint (on ``device``), calibrate, and save it (to ``out`` or in
    place) with ``info["refinement"]`` set."""
    import torch
    from tqdm import tqdm

    from spotting.checkpoint import load_checkpoint, save_checkpoint
    from spotting.infer import infer_game

    loaded = load_checkpoint(path, device)
    scores, labels = [], []
    for game in tqdm(games, desc="calibrating on validation games", unit="game"):
        scores.append(infer_game(loaded, {h: game.load_features(h, dim=loaded.feature_dim) for h in (1, 2)}))
        labels.append(game.read_labels(classes=loaded.spec))
    refinement, report = calibrate_refinement(scores, labels, default_nms_window_s(loaded.spec), spec=loaded.spec)
    info = dict(torch.load(path, map_location="cpu", weights_only=True).get("info", {}))
    info["refinement"] = refinement.to_dict()
    info["calibration"] = {"games": len(games), "default_loose_tight": list(report["default"]),
                           "calibrated_loose_tight": list(report["calibrated"])}
    save_checkpoint(out or path, loaded.model.cpu(), loaded.features, **info)
    return refinement, report


def describe(refinement: Refinement, classes: tuple[str, ...] = SOCCERNET_V2.classes) -> str:
    """One line: each class's setting (``classes`` names them)."""
    parts = []
    for name, window, offset in zip(classes, refinement.window_s, refinement.offset_s):
        parts.append(f"{name}: " + (f"rise {offset:+.1f} s" if window > 0 else "head position"))
    return "; ".join(parts)


def describe_report(report: dict) -> str:
    """:func:`calibrate_refinement`'s report as one line."""
    first, second = report.get("metrics", ("loose", "tight"))
    return f"validation Average-mAP {first} / {second}: " + "default {:.3f} / {:.3f} → calibrated {:.3f} / {:.3f}".format(
        *report["default"], *report["calibrated"])


def main(argv: list[str] | None = None) -> int:
    import time

    from spotting.checkpoint import load_checkpoint
    from spotting.cli import plural, print_summary
    from spotting.errors import InputError
    from spotting.options import (add_device, add_features, add_force, add_out, add_soccernet_dir, add_split,
                                  command_parser, require_soccernet_dir)
    from spotting.selection import select_games

    started = time.perf_counter()
    p = command_parser("python -m spotting.calibration", __doc__.splitlines()[0], [
        "python -m spotting.calibration --checkpoint runs/calf/best.pt --soccernet-dir ~/SoccerNet --valid-split valid "
        "--out runs/calf/calibrated.pt"])
    p.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint written by spotting.train")
    add_soccernet_dir(p)
    add_split(p, "--valid-split", "valid", role="; the games calibrated on, with labels")
    add_features(p, "the checkpoint's")
    add_out(p, "the calibrated checkpoint (default: the checkpoint itself, in place)", required=False)
    add_device(p)
    add_force(p, "--out, or the checkpoint itself")
    args = p.parse_args(argv)
    require_soccernet_dir(p, args)
    target = args.out or args.checkpoint
    if target.exists() and not args.force:
        raise InputError(target, "already exists", "pass --force to overwrite it or choose another --out")
    loaded = load_checkpoint(args.checkpoint, "cpu")
    games = select_games(args.soccernet_dir, args.valid_split, args.features or loaded.features,
                         labels_file=loaded.spec.labels_file, dataset=loaded.spec.dataset)
    if not games:
        raise InputError(None, "no validation split given", "pass --valid-split (a split name, a sub-folder or a file)")
    refinement, report = calibrate_checkpoint(args.checkpoint, games, args.out, device=args.device)
    print(describe(refinement, loaded.spec.classes))
    print(f"{describe_report(report)} → {target}")
    print_summary("calibration", f"{plural(len(games), 'game')} read from {args.soccernet_dir} (split {args.valid_split})",
                  f"calibrated checkpoint written to {target}", started)
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``python -m spotting.calibration`` / ``spotting-calibrate``: bad input → exit 2 with one line."""
    from spotting.cli import run_cli

    return run_cli(main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
