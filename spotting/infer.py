"""Whole-game inference: chunk each half, run CALF, stitch the chunks back together.

The per-frame front end (``encode`` + ``context``) runs once per half; only the chunk-level head
runs on overlapping chunks, all of them in a few large batches, under ``torch.inference_mode``.
Stitching gives every frame to the chunk in which it is most central (boundaries at the middle of
each overlap), which is correct for every half length, including a shifted-back last chunk and
halves shorter than one chunk.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from spotting.checkpoint import LoadedModel, load_checkpoint
from spotting.errors import InputError
from spotting.model import CALF
from spotting.specs import Specifications
from spotting.stitching import chunk_boundaries, chunk_starts, stitch, stitch_detections

__all__ = ["HalfScores", "GameScores", "LoadedModel", "load_checkpoint", "infer_half", "infer_game", "score_game",
           "chunk_starts", "chunk_boundaries", "stitch", "stitch_detections"]

Progress = Callable[[int, int], None]
CPU_BATCH, ACCELERATOR_BATCH = 12, 64  # chunks per head pass (see infer_half)


@dataclass
class HalfScores:
    segmentation: np.ndarray  # (T, C) float32 in [0, 1]
    detection: np.ndarray  # (T, C) float32: confidence at each spotted frame, 0 elsewhere
    framerate: float

    def times(self) -> np.ndarray:
        """(T,) seconds of each frame."""
        return np.arange(self.segmentation.shape[0]) / self.framerate


@dataclass
class GameScores:
    halves: dict[int, HalfScores]
    device: str
    seconds: float
    spec: Specifications | None = None  # the model's task (class names of the columns, evaluation rate)


def _pad_codes(codes: torch.Tensor, margin: int, length: int) -> torch.Tensor:
    """``(T, 32)`` codes → ``(1, 32, margin + length + margin)`` with zeros outside the half."""
    padded = codes.new_zeros((length + 2 * margin, codes.shape[1]))
    padded[margin: margin + codes.shape[0]] = codes
    return padded.T.unsqueeze(0)


def _float_tensor(features: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """``(T, D)`` features (often a read-only float16 memory map) → float32 tensor on ``device``.

    torch converts float16 ~10× faster than numpy; a float32 memory map on the CPU is not copied
    (the network only reads its input)."""
    array = np.asarray(features)
    if array.dtype.isnative and array.dtype.kind == "f" and array.dtype.itemsize in (2, 4, 8):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return torch.from_numpy(array).to(device=device, dtype=torch.float32)
    return torch.as_tensor(np.array(array, dtype=np.float32), device=device)


def infer_half(model: CALF, features: np.ndarray, device: torch.device | str = "cpu",
               batch_size: int | None = None, progress: Progress | None = None) -> HalfScores:
    """One half's features ``(T, D)`` → :class:`HalfScores`.

    ``batch_size`` chunks go through the head at a time: by default 12 on a CPU, where the
    head's intermediate tensors then stay in cache (a half is ~20 % faster than in one batch of 34),
    and 64 on an accelerator."""
    if batch_size is None:
        batch_size = CPU_BATCH if torch.device(device).type == "cpu" else ACCELERATOR_BATCH
    config = model.config
    chunk, stride = config.chunk_size, config.chunk_size - config.receptive_field
    num_frames = int(features.shape[0])
    starts = chunk_starts(num_frames, chunk, stride)
    length = max(num_frames, chunk)  # a half shorter than one chunk is zero-padded (masked) to one chunk
    model.eval()
    with torch.inference_mode():
        x = _float_tensor(features, device)
        context = model.context(_pad_codes(model.encode(x), config.margin, length))[0]  # (152, length)
        views = [context[:, start: start + chunk] for start in starts.tolist()]  # no copies yet
        segments, spots = [], []
        for first in range(0, len(starts), batch_size):
            batch = torch.stack(views[first: first + batch_size])  # (b, 152, chunk); ~7× faster than an index gather
            segmentation, spotting = model.head(batch)
            segments.append(segmentation.float().cpu())
            spots.append(spotting.float().cpu())
            if progress is not None:
                progress(min(first + batch_size, len(starts)), len(starts))
    segmentation = torch.cat(segments).numpy()
    spotting = torch.cat(spots).numpy()
    return HalfScores(
        segmentation=stitch(segmentation, starts, num_frames).astype(np.float32),
        detection=stitch_detections(spotting, starts, chunk, num_frames),
        framerate=config.framerate,
    )


def infer_game(loaded: LoadedModel, features: dict[int, np.ndarray], progress: Progress | None = None) -> GameScores:
    """Every half of a game. ``progress(done, total)`` counts chunks over both halves."""
    started = time.perf_counter()
    for half, array in features.items():
        if array.ndim != 2 or array.shape[1] != loaded.feature_dim:
            raise InputError(None, f"half {half} features have shape {tuple(array.shape)}, the model expects "
                             f"(frames, {loaded.feature_dim})", "use the features the checkpoint was trained on")
    config = loaded.config
    totals = {h: len(chunk_starts(a.shape[0], config.chunk_size, config.chunk_size - config.receptive_field))
              for h, a in features.items()}
    grand = sum(totals.values())
    done_before = 0
    halves = {}
    for half in sorted(features):
        def half_progress(done: int, _total: int, offset: int = done_before) -> None:
            if progress is not None:
                progress(offset + done, grand)
        halves[half] = infer_half(loaded.model, features[half], loaded.device, progress=half_progress)
        done_before += totals[half]
    return GameScores(halves=halves, device=str(loaded.device), seconds=time.perf_counter() - started, spec=loaded.spec)


def score_game(loaded: LoadedModel, game, progress: Progress | None = None,
               halves: tuple[int, ...] = (1, 2)) -> GameScores:
    """The one way to score a game (``spotting.soccernet.Game``): its halves' features, memory-mapped and
    checked (dimension, NaN/Inf), through :func:`infer_game`, outputs checked.

    Used by inference, calibration, training's validation, the demo build and the app. Float16 and
    float32 features go to the model by torch (no numpy copy). ``progress(done, total)`` counts chunks
    over the halves. Raises :class:`InputError` naming the features file when a value does not fit
    float32 (|x| > 3.4e38, which would reach the model as infinity) or when the model's outputs on a
    half are not finite (NaN scores would silently give the half no events).
    """
    features = {half: game.load_features(half, dim=loaded.feature_dim) for half in halves}
    for half, array in features.items():
        if array.dtype.itemsize > 4 and array.size:
            with np.errstate(over="ignore"):
                too_large = float(np.abs(array).max()) > np.finfo(np.float32).max
            if too_large:
                raise InputError(game.features_path(half), "values too large for 32-bit floats (|x| > 3.4e38): "
                                 "the model would see infinities", "check how the features were computed")
    with np.errstate(invalid="ignore"):
        scores = infer_game(loaded, features, progress=progress)
    for half, half_scores in scores.halves.items():
        if not (np.isfinite(half_scores.segmentation).all() and np.isfinite(half_scores.detection).all()):
            raise InputError(game.features_path(half), "the model's outputs on these features are not finite",
                             "the features are far outside the range the model was trained on, or the "
                             "checkpoint is damaged")
    return scores


def save_scores(path: str | Path, scores: GameScores) -> Path:
    """Keep the curves and detection scores (``.npz``) for the app or later analysis."""
    arrays = {}
    for half, s in scores.halves.items():
        arrays[f"segmentation_{half}"] = s.segmentation
        arrays[f"detection_{half}"] = s.detection
    if scores.spec is not None:
        arrays["classes"] = np.asarray(scores.spec.classes, dtype=str)
    np.savez_compressed(path, framerate=np.float64(next(iter(scores.halves.values())).framerate), **arrays)
    return Path(path)


# -- command line ---------------------------------------------------------------------------------
# ``torchrun --nproc_per_node=N -m spotting.infer --soccernet-dir D --split S …`` runs the split on N
# processes: each takes every N-th game (its share) and writes exactly the files one process would.

def default_game_output(checkpoint: Path, game_dir: Path) -> Path:
    """``predictions/<model>/<game path>/results_spotting.json`` under the current folder.

    ``<model>`` is the checkpoint's file name without ``.pt`` (``model.pt`` → ``model``), except for the names
    training writes into every run (``best.pt``, ``last.pt``): those take the run's folder name
    (``runs/x/best.pt`` → ``x``), so two runs' outputs do not land in one ``predictions/best/``. The game path
    is the folder's last three parts (``league/season/game``, SoccerNet's layout), or its name alone when it
    is shallower: the layout the app's saved-predictions finder and the split page read.
    """
    from spotting.results import RESULTS_FILE  # results imports this module's neighbours: imported when used

    run = Path(checkpoint).resolve().parent.name  # resolved: ``best.pt`` given inside its run folder names the run
    model = run if Path(checkpoint).stem in ("best", "last") and run else Path(checkpoint).stem
    parts = Path(game_dir).resolve().parts[-3:]
    return Path("predictions") / model / Path(*parts) / RESULTS_FILE


def _infer_one(loaded: LoadedModel, game, out: Path, config, force: bool, scores_out: Path | None) -> int:
    import sys

    from spotting.postprocess import spot_events
    from spotting.results import write_results
    from spotting.soccernet import load_features
    from spotting.timebase import check_game_rates

    if out.exists() and not force:  # check before spending time on inference
        raise InputError(out, "already exists", "pass --force to overwrite it or choose another --out")
    # Features at another rate than the model's: exit 2 naming the file, both rates and the fix.
    frames = {h: int(load_features(game.features_path(h), dim=loaded.feature_dim, check_finite=False).shape[0])
              for h in (1, 2)}  # the headers only: score_game reads and checks the values
    for warning in check_game_rates(game, frames, loaded.framerate, loaded.spec):
        print(f"warning: {warning}", file=sys.stderr)
    scores = score_game(loaded, game)
    events = spot_events(scores, config)
    write_results(out, events, url_local=game.name, force=force, classes=loaded.spec, framerate=loaded.spec.framerate)
    if scores_out is not None:
        save_scores(scores_out, scores)
    return len(events)


def infer_split(loaded: LoadedModel, games: list, out_dir: Path, config, force: bool = False,
                save_scores_too: bool = False, show_progress: bool = True) -> tuple[int, int]:
    """This process's share of ``games`` (all of them in one process) → ``OUT/<game>/results_spotting.json``
    (and ``scores.npz``); returns (games done here, events written here).

    Existing results are refused for every game of the split before any inference, so a run that
    stops on one leaves nothing half done."""
    from tqdm import tqdm

    from spotting import distributed
    from spotting.results import RESULTS_FILE

    if not force:
        existing = [out_dir / g.name / RESULTS_FILE for g in games if (out_dir / g.name / RESULTS_FILE).exists()]
        if existing:
            raise InputError(existing[0], f"already exists ({len(existing)} of the split's {len(games)} result files do)",
                             "pass --force to overwrite them or choose another --out-dir")
    rank = distributed.current()
    mine = distributed.share(games, rank)
    total = 0
    for game in tqdm(mine, desc=f"inference ({loaded.device})", unit="game", disable=None if show_progress and rank.is_main else True):
        out = out_dir / game.name / RESULTS_FILE
        total += _infer_one(loaded, game, out, config, force, out.with_name("scores.npz") if save_scores_too else None)
    return len(mine), total


def check_split(games: list, dim: int) -> list[InputError]:
    """Every selected game's feature files opened without being read (header, size, dimension): one
    :class:`InputError` per unusable file (truncated, corrupt, another dimension), naming it."""
    from spotting.soccernet import load_features

    problems = []
    for game in games:
        for half in (1, 2):
            try:
                load_features(game.features_path(half), dim=dim, check_finite=False)
            except InputError as error:
                problems.append(error)
    return problems


def _selected_games(args, loaded: LoadedModel, features: str) -> tuple[list, list[tuple[str, str]]]:
    """The split's games with features and the incomplete ones left out ``(name, reason)``. Games of an
    official split absent from the root get one note; an unusable feature file, or an incomplete game
    without ``--skip-incomplete``, is an :class:`InputError` (exit 2), each incomplete game named first."""
    import sys

    from spotting.selection import select_games

    skipped: list[tuple[str, str]] = []
    games = select_games(args.soccernet_dir, args.split, features, require="features",
                         labels_file=loaded.spec.labels_file, dataset=loaded.spec.dataset, skipped=skipped)
    absent = [name for name, reason in skipped if reason == "not found"]
    incomplete = [(name, reason) for name, reason in skipped if reason != "not found"]
    if absent:
        shown = "; ".join(absent[:3]) + ("; ..." if len(absent) > 3 else "")
        print(f"note: {len(absent)} game(s) of split {args.split!r} are not under {args.soccernet_dir} ({shown}); "
              f"spotting the {len(games) + len(incomplete)} there", file=sys.stderr)
    problems = check_split(games, loaded.feature_dim)
    if problems or (incomplete and not args.skip_incomplete):
        for name, reason in incomplete:
            print(f"note: {name}: {reason} — not spotted", file=sys.stderr)
    if problems:
        others = f" ({len(problems) - 1} more file(s) of the split cannot be used either)" if len(problems) > 1 else ""
        first = problems[0]
        raise InputError(first.path, first.problem + others, first.fix)
    if incomplete and not args.skip_incomplete:
        names = "; ".join(f"{name} ({reason})" for name, reason in incomplete[:3]) + ("; ..." if len(incomplete) > 3 else "")
        raise InputError(args.soccernet_dir, f"{len(incomplete)} game(s) of split {args.split!r} lack features: {names}",
                         "download them, or pass --skip-incomplete to spot the others (the skipped ones are "
                         "listed at the end)")
    return games, incomplete


def postprocessing(loaded: LoadedModel, threshold: float = 0.0, nms_window_s: float | None = None,
                   refine_window_s: float | None = None):
    """The checkpoint's calibrated :class:`~spotting.postprocess.SpottingConfig` (its task's defaults
    when it has none) with the command's overrides: a threshold, one NMS window for every class, a
    uniform refinement window (0: off)."""
    from dataclasses import replace

    from spotting.postprocess import Refinement, SpottingConfig

    config = replace(SpottingConfig.from_checkpoint_info(loaded.info, loaded.spec), threshold=threshold)
    if nms_window_s is not None:
        config = replace(config, nms_window_s=nms_window_s, class_nms_windows_s=())
    if refine_window_s is not None:
        config = replace(config, refinement=Refinement.uniform(refine_window_s, num_classes=loaded.spec.num_classes))
    return config


def build_parser() -> argparse.ArgumentParser:
    """``python -m spotting.infer``'s options (the shared ones from :mod:`spotting.options`)."""
    from spotting.options import (add_device, add_features, add_force, add_out, add_out_dir, add_postprocess_options,
                                  add_soccernet_dir, add_split, command_parser)
    from spotting.postprocess import DEFAULT_NMS_WINDOW_S
    from spotting.results import RESULTS_FILE

    p = command_parser("python -m spotting.infer", "Spot actions in whole games: one game folder, or every game of a "
                       "split of a SoccerNet root.", [
                           "python -m spotting.infer --soccernet-dir ~/SoccerNet --split test --checkpoint "
                           "runs/calf/best.pt --out-dir preds/",
                           "python -m spotting.infer --game-dir games/my-match --checkpoint runs/calf/best.pt"])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--game-dir", type=Path, help="one game folder (instead of --soccernet-dir)")
    add_soccernet_dir(where, " (with --split and --out-dir; torchrun --nproc_per_node=N shares the games among N "
                      "processes)")
    add_split(p)
    add_features(p, "the checkpoint's")
    p.add_argument("--checkpoint", type=Path, required=True, help="a checkpoint written by spotting.train")
    add_out(p, f"the results file of --game-dir (default: predictions/<model>/<league>/<season>/<game>/"
               f"{RESULTS_FILE} under the current folder, where the app finds saved predictions; <model> is the "
               "checkpoint's name, or its run folder's for best.pt / last.pt; never inside the dataset)", required=False)
    add_out_dir(p, RESULTS_FILE)
    add_device(p)
    add_postprocess_options(p, f"the checkpoint's calibrated per-class windows, else its task's: {DEFAULT_NMS_WINDOW_S:g} "
                            "for SoccerNet-v2, 2 for Ball Action; given, one window for every class")
    p.add_argument("--skip-incomplete", action="store_true", help="spot the games of the split that have both halves' "
                   "features, and list the others at the end (default: exit 2 naming them)")
    p.add_argument("--refine-window", type=float, default=None, help="move every class's events to the segmentation "
                   "rise within ± this many seconds (0: off; default: the checkpoint's per-class calibration)")
    p.add_argument("--save-scores", action="store_true", help="also write the curves and scores as scores.npz")
    add_force(p, "result files")
    return p


def main(argv: list[str] | None = None) -> int:
    import sys

    from spotting import distributed
    from spotting.cli import plural, print_summary
    from spotting.results import RESULTS_FILE
    from spotting.soccernet import game_at

    started = time.perf_counter()
    p = build_parser()
    args = p.parse_args(argv)
    if args.game_dir is None and args.soccernet_dir is None:
        raise InputError(None, "one of --game-dir or --soccernet-dir is required (and $SOCCERNET_DIR is unset)",
                         "pass --game-dir GAME, or --soccernet-dir /path/to/SoccerNet (or set SOCCERNET_DIR)")
    if args.game_dir is None and args.out_dir is None:
        p.error("--soccernet-dir needs --out-dir")
    rank = distributed.environment()
    loaded = load_checkpoint(args.checkpoint, str(distributed.local_device(args.device, rank)))
    features = args.features or loaded.features
    config = postprocessing(loaded, args.threshold, args.nms_window, args.refine_window)
    if args.game_dir is not None:
        if not rank.is_main:  # one game: one process writes it
            return 0
        game = game_at(args.game_dir, features=features, labels_file=loaded.spec.labels_file)
        out = args.out or default_game_output(Path(args.checkpoint), game.directory)
        n = _infer_one(loaded, game, out, config, args.force, out.with_name("scores.npz") if args.save_scores else None)
        print_summary("infer", f"1 game read from {args.game_dir}", f"{plural(n, 'event')} written to {out} "
                      f"(device {loaded.device})", started)
        return 0
    games, skipped = _selected_games(args, loaded, features)
    # Gloo whatever the device: the ranks only exchange their counts (and wait for each other) at the end.
    with distributed.session(args.device, cpu_only=True) as rank:
        done, events = infer_split(loaded, games, args.out_dir, config, args.force, args.save_scores)
        counts = distributed.gather_objects((done, events))
        if rank.is_main:
            if skipped:
                print(f"skipped {len(skipped)} game(s) of split {args.split!r} (--skip-incomplete):", file=sys.stderr)
                for name, reason in skipped:
                    print(f"  {name}: {reason}", file=sys.stderr)
            total = sum(c[0] for c in counts)
            processes = f" by {rank.world_size} processes" if rank.distributed else ""
            print_summary("infer", f"{plural(total, 'game')} read from {args.soccernet_dir} (split {args.split})",
                          f"{total} {RESULTS_FILE} ({plural(sum(c[1] for c in counts), 'event')}) written under "
                          f"{args.out_dir}{processes}", started)
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``python -m spotting.infer`` / ``spotting-infer``: bad input → exit 2 with one line."""
    from torch.distributed.elastic.multiprocessing.errors import record

    from spotting.cli import run_cli

    return record(run_cli)(main, argv)  # under torchrun: an unexpected error goes into its failure report


if __name__ == "__main__":
    raise SystemExit(cli())
