"""Per-class post-processing calibrated on validation games, stored with the model.

The strongest SoccerNet entries tune their post-processing per class on validation games (Soares et
al., ICIP 2022, yahoo/spivak: per-class NMS windows and soft-NMS): a 20-s window for every class is far
from the best one for throw-ins, which come seconds apart, or for kick-offs, which never do. Here each
class gets, on validation games:

- its :class:`~spotting.postprocess.Refinement` (off, or on with an offset): where a class's
  segmentation curve rises relative to its annotated moment depends on the class (a goal is
  annotated as the curve rises, a yellow card seconds after the foul's curve);
- its NMS window, with one suppression kind for all classes (hard NMS, or soft-NMS with a linear or
  Gaussian decay): the kind whose best per-class windows score highest.

Each choice maximises loose + tight Average-mAP of that class (for a set scored otherwise, e.g. Ball
Action: its metric + tight, at its evaluation rate). Classes never interact in Average-mAP (per-class
suppression, per-class AP), so one pass over a grid of settings scores every class. Ties keep the
task's default. The result is one :class:`~spotting.postprocess.SpottingConfig` saved in the
checkpoint (``info["postprocessing"]``), which inference, the app and the split page then use.

    python -m spotting.calibration --checkpoint runs/calf/best.pt --soccernet-dir D --valid-split valid --force

Training calls it at the end on its validation games; this command (re)calibrates any checkpoint.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from spotting.metrics import average_map
from spotting.postprocess import (DEFAULT_REFINE_OFFSET_S, DEFAULT_REFINE_WINDOW_S, SUPPRESSIONS, Refinement,
                                  SpottingConfig, candidate_events, default_refinement, default_settings, refined_events)
from spotting.soccernet import Annotations
from spotting.specs import SOCCERNET_V2, Specifications

OFFSETS_S = np.arange(-10.0, 15.0 + 1e-9, 0.5)  # the curve may rise up to 15 s before or 10 s after the moment
WINDOWS_S = (5.0, 10.0, 15.0)  # how far from the spotting head's position to look for the rise
# NMS windows tried, as multiples of the task's default (SoccerNet-v2: 5 to 60 s around CALF's 20 s;
# Ball Action: 0.5 to 6 s around its 2 s).
NMS_SCALES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def _metrics(spec: Specifications) -> tuple[str, str]:
    return ("loose", "tight") if spec.metric == "loose" else (spec.metric, "tight")


def _per_class(labels: list[Annotations], predictions: list[Annotations], spec: Specifications,
               num_classes: int) -> np.ndarray:
    """``(2, C)`` per-class Average-mAP of the task's two metrics."""
    return np.stack([average_map(labels, predictions, metric, spec.framerate, num_classes).a_mAP_per_class
                     for metric in _metrics(spec)])


def _num_classes(scores: list) -> int:
    return next(iter(scores[0].halves.values())).detection.shape[1]


def _report(default: np.ndarray, calibrated: np.ndarray, spec: Specifications) -> dict:
    """``{"default": (m1, m2), "calibrated": (m1, m2), "metrics": (m1, m2)}`` from two ``(2, C)`` arrays."""
    return {"default": tuple(float(v) for v in default.mean(axis=1)),
            "calibrated": tuple(float(v) for v in calibrated.mean(axis=1)), "metrics": _metrics(spec)}


def calibrate_refinement(scores: list, labels: list[Annotations], settings: SpottingConfig | None = None,
                         windows_s: tuple[float, ...] = WINDOWS_S,
                         spec: Specifications = SOCCERNET_V2) -> tuple[Refinement, dict]:
    """Each class's best refinement on these games (``GameScores`` + labels, same order), with the
    suppression of ``settings`` (default: the task's :func:`default_settings`).

    Returns the refinement and a report (see :func:`describe_report`) of Average-mAP on these games
    before (the task's default refinement) and after. The default is tried first and kept on ties.
    """
    settings = settings or default_settings(spec)
    first = default_refinement(spec)
    grid = [(first.window_s[0], first.offset_s[0]), (DEFAULT_REFINE_WINDOW_S, DEFAULT_REFINE_OFFSET_S), (0.0, 0.0)]
    grid = list(dict.fromkeys(grid))  # the task's default first (kept on ties), each setting once
    grid += [(float(w), float(o)) for w in windows_s for o in OFFSETS_S]
    num_classes = _num_classes(scores)
    per_class = np.zeros((len(grid), 2, num_classes))
    candidates = [candidate_events(s, settings) for s in scores]  # the same for every refinement
    for i, (window, offset) in enumerate(tqdm(grid, desc="refinement settings", unit="setting", leave=False,
                                              disable=None)):
        moved = replace(settings, refinement=Refinement.uniform(window, offset, num_classes))
        per_class[i] = _per_class(labels, [refined_events(c, s, moved) for c, s in zip(candidates, scores)],
                                  spec, num_classes)
    best = per_class.sum(axis=1).argmax(axis=0)  # first maximum: the default wins ties
    refinement = Refinement(tuple(float(grid[b][0]) for b in best), tuple(float(grid[b][1]) for b in best))
    return refinement, _report(per_class[0], per_class[best, :, np.arange(num_classes)].T, spec)


def calibrate_suppression(scores: list, labels: list[Annotations], settings: SpottingConfig | None = None,
                          scales: tuple[float, ...] = NMS_SCALES, kinds: tuple[str, ...] = SUPPRESSIONS,
                          spec: Specifications = SOCCERNET_V2) -> tuple[SpottingConfig, dict]:
    """Each class's best NMS window and one suppression kind for all, with the refinement of ``settings``.

    Windows are ``scales`` × the task's default window; for each kind every class takes its best
    window, and the kind whose classes then score highest wins (ties: the earlier kind in ``kinds``,
    hard NMS first; the default window first within a kind). Returns ``settings`` with
    ``suppression`` and ``nms_window_s`` / ``class_nms_windows_s`` set, and a report as
    :func:`calibrate_refinement`'s (before: ``settings`` as given).
    """
    settings = settings or default_settings(spec)
    base = settings.nms_window_s
    windows = list(dict.fromkeys([base] + [float(base * s) for s in scales]))  # the given window first
    num_classes = _num_classes(scores)
    before = None  # ``settings`` as given: one of the trials below unless it holds per-class windows
    best_kind, best_total, best = None, -np.inf, None
    trials = tqdm(total=len(kinds) * len(windows), desc="NMS settings", unit="setting", leave=False, disable=None)
    for kind in kinds:
        per_class = np.zeros((len(windows), 2, num_classes))
        for i, window in enumerate(windows):
            trials.update()
            trial = replace(settings, suppression=kind, nms_window_s=window, class_nms_windows_s=())
            per_class[i] = _per_class(labels, [refined_events(candidate_events(s, trial), s, trial) for s in scores],
                                      spec, num_classes)
            if trial == settings:
                before = per_class[i].copy()
        choice = per_class.sum(axis=1).argmax(axis=0)  # (C,) first maximum: the default window wins ties
        chosen = per_class[choice, :, np.arange(num_classes)].T  # (2, C)
        if chosen.sum() > best_total + 1e-12:
            best_kind, best_total, best = kind, chosen.sum(), (choice, chosen)
    trials.close()
    if before is None:
        before = _per_class(labels, [refined_events(candidate_events(s, settings), s, settings) for s in scores],
                            spec, num_classes)
    choice, chosen = best
    overrides = {c: windows[i] for c, i in enumerate(choice) if windows[i] != base}
    calibrated = replace(settings, suppression=best_kind, nms_window_s=base, class_nms_windows_s=overrides)
    return calibrated, _report(before, chosen, spec)


def calibrate(scores: list, labels: list[Annotations], spec: Specifications = SOCCERNET_V2) -> tuple[SpottingConfig, dict]:
    """The task's post-processing calibrated on these games: refinement, then NMS windows and
    suppression kind with it, then the refinement again with those (a narrower window keeps
    candidates the refinement then places). Report: the task's defaults → the calibrated settings."""
    settings = default_settings(spec)
    refinement, first = calibrate_refinement(scores, labels, settings, spec=spec)
    settings, _ = calibrate_suppression(scores, labels, replace(settings, refinement=refinement), spec=spec)
    refinement, last = calibrate_refinement(scores, labels, settings, spec=spec)
    final = replace(settings, refinement=refinement)
    # The second pass picks each class's refinement from the same grid as the first, so it can only
    # match or beat the first pass's choice under the chosen suppression.
    return final, {"default": first["default"], "calibrated": last["calibrated"], "metrics": first["metrics"]}


def calibrate_checkpoint(path: Path, games: list, out: Path | None = None,
                         device: str = "auto") -> tuple[SpottingConfig, dict]:
    """Score ``games`` with the checkpoint (on ``device``, :func:`spotting.infer.score_game`),
    :func:`calibrate`, and save it (to ``out`` or in place) with ``info["postprocessing"]`` set (and
    ``info["refinement"]``, which older versions read)."""
    from spotting.checkpoint import load_checkpoint, save_checkpoint
    from spotting.infer import score_game

    loaded = load_checkpoint(path, device)
    scores, labels = [], []
    for game in tqdm(games, desc="calibrating on validation games", unit="game"):
        scores.append(score_game(loaded, game))
        labels.append(game.read_labels(classes=loaded.spec))
    settings, report = calibrate(scores, labels, loaded.spec)
    info = dict(loaded.info)  # everything saved with it (epoch, score, ...) is kept
    info["postprocessing"] = settings.to_dict()
    info["refinement"] = settings.refinement.to_dict()
    info["calibration"] = {"games": len(games), "metrics": list(report["metrics"]),
                           "default_loose_tight": list(report["default"]),
                           "calibrated_loose_tight": list(report["calibrated"])}
    save_checkpoint(out or path, loaded.model.cpu(), loaded.features, **info)
    return settings, report


def describe_settings(settings: SpottingConfig, classes: tuple[str, ...] = SOCCERNET_V2.classes) -> str:
    """One line: the suppression kind, then each class's NMS window and refinement."""
    windows = settings.nms_windows(len(classes))
    parts = []
    for name, window, r_window, offset in zip(classes, windows, settings.refinement.window_s,
                                              settings.refinement.offset_s):
        parts.append(f"{name}: {window:g} s, " + (f"rise {offset:+.1f} s" if r_window > 0 else "head position"))
    return f"{settings.suppression} NMS; " + "; ".join(parts)


def describe_report(report: dict) -> str:
    """:func:`calibrate`'s report as one line."""
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
    require_soccernet_dir(args)
    target = args.out or args.checkpoint
    if target.exists() and not args.force:
        raise InputError(target, "already exists", "pass --force to overwrite it or choose another --out")
    loaded = load_checkpoint(args.checkpoint, "cpu")
    games = select_games(args.soccernet_dir, args.valid_split, args.features or loaded.features,
                         labels_file=loaded.spec.labels_file, dataset=loaded.spec.dataset)
    if not games:
        raise InputError(None, "no validation split given", "pass --valid-split (a split name, a sub-folder or a file)")
    settings, report = calibrate_checkpoint(args.checkpoint, games, args.out, device=args.device)
    print(describe_settings(settings, loaded.spec.classes))
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
