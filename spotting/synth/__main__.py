"""``python -m spotting.synth --out DIR --seed N``: write synthetic SoccerNet-style games.

With ``--games K`` the games go to ``DIR/synthetic_<seed>`` for seeds N .. N+K-1. ``--ball 2023`` (or
2024) writes Ball Action Spotting games instead: 25 fps, ``Labels-ball.json``, an action every few
seconds (:mod:`spotting.synth.ball`; ``--minutes`` defaults to 2 per half there).
"""

from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

from spotting.cli import plural, print_summary, run_cli
from spotting.errors import InputError
from spotting.options import HELP, add_force, add_out, command_parser, description_of, features_name
from spotting.specs import BALL_2023, BALL_2024
from spotting.synth.ball import BALL_FEATURES, generate_ball_game
from spotting.synth.game import DEFAULT_FEATURES, generate_game


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = command_parser("python -m spotting.synth", description_of(__doc__), [
        "python -m spotting.synth --out /tmp/games --seed 1 --games 3",
        "python -m spotting.synth --out /tmp/ball --ball 2023 --games 4 --no-video"])
    add_out(parser, "the game folder (with --games: the folder of the games)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the (first) game")
    parser.add_argument("--minutes", type=float, default=None,
                        help="minutes per half (default: drawn from the real games' half lengths)")
    parser.add_argument("--no-video", action="store_true", help="skip the .webm videos (features are still rendered)")
    parser.add_argument("--games", type=int, default=None, help="write this many games under --out")
    parser.add_argument("--features", type=features_name, default=None, metavar="NAME",
                        help=f"{HELP['--features']}, written (default: {DEFAULT_FEATURES}, {BALL_FEATURES} with --ball)")
    parser.add_argument("--ball", choices=("2023", "2024"), default=None,
                        help="Ball Action Spotting games of that year's class set (25 fps, Labels-ball.json)")
    parser.add_argument("--workers", type=int, default=2, help="processes per game (one per half)")
    parser.add_argument("--rare-boost", type=float, default=1.0,
                        help="x odds of the classes rarer than once per real game (training sets only)")
    add_force(parser, "non-empty game folders")
    args = parser.parse_args(argv)
    if args.minutes is not None and args.minutes * 60 < 10:
        raise InputError(None, f"--minutes {args.minutes} is too short", "give at least 10 s per half")
    if args.games is not None and args.games < 1:
        raise InputError(None, f"--games {args.games}", "give a positive number of games")
    halves = None if args.minutes is None else (args.minutes * 60, args.minutes * 60)
    if args.ball is not None:
        count = _ball_games(args, halves or (120.0, 120.0))
        print_summary("synth", f"{plural(count, 'seed')} from {args.seed}", f"{plural(count, 'game')} written under {args.out}",
                      started)
        return 0
    seeds = [args.seed] if args.games is None else list(range(args.seed, args.seed + args.games))
    folders = [args.out] if args.games is None else [args.out / f"synthetic_{seed}" for seed in seeds]
    for folder in folders:  # fail before any work rather than after hours of it
        if folder.is_dir() and any(folder.iterdir()) and not args.force:
            raise InputError(folder, "folder exists and is not empty", "pass --force to overwrite it or choose another --out")
    for seed, folder in zip(seeds, folders):
        start = time.perf_counter()
        with tqdm(total=1, unit="frame", desc=f"seed {seed}", leave=True) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            game = generate_game(folder, seed, halves, video=not args.no_video, features_name=args.features or DEFAULT_FEATURES,
                                 progress=progress, force=args.force, workers=args.workers,
                                 rare_boost=args.rare_boost)
        labels = game.read_labels()
        print(f"{folder}: {len(labels)} events, {time.perf_counter() - start:.1f} s")
    print_summary("synth", f"{plural(len(seeds), 'seed')} from {args.seed}", f"{plural(len(folders), 'game')} written "
                  f"under {args.out}", started)
    return 0


def _ball_games(args: argparse.Namespace, halves: tuple[float, float]) -> int:
    """Ball Action games of ``args``; returns how many were written."""
    spec = BALL_2023 if args.ball == "2023" else BALL_2024
    seeds = [args.seed] if args.games is None else list(range(args.seed, args.seed + args.games))
    for seed in seeds:
        folder = args.out if args.games is None else args.out / f"ball_{seed}"
        game = generate_ball_game(folder, seed, halves, spec, features_name=args.features or BALL_FEATURES,
                                  video=not args.no_video, force=args.force)
        print(f"{folder}: {len(game.read_labels(classes=spec))} {spec.describe()} events")
    return len(seeds)


def cli(argv: list[str] | None = None) -> int:
    """``python -m spotting.synth`` / ``spotting-synth``: bad input → exit 2 with one line."""
    return run_cli(main, argv)


if __name__ == "__main__":
    sys.exit(cli())
