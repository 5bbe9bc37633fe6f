"""The embedded demo: a synthetic match with video, and a CALF + attention model trained on other
synthetic matches — everything rebuilt from scratch by ``python -m spotting.demo build``.

    python -m spotting.demo build [--work DIR] [--force]   # demo game + training + model + report
    python -m spotting.demo build --keep-game --force      # retrain and report, keep the demo game
    python -m spotting.demo report [--work DIR]            # held-out table (with / without attention)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from spotting.cli import run_cli
from spotting.errors import InputError
from spotting.soccernet import Game, game_at

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "assets" / "demo"
DEMO_FEATURES = "synthetic512.npy"
DEMO_GAME_DIR = ASSETS / "game"
DEMO_CHECKPOINT = ASSETS / "model.pt"
DEMO_REPORT = ASSETS / "report.json"
DEMO_SEED = 15  # the demo game; training, validation and test games use other seed ranges
TRAIN_SEEDS = range(10_000, 10_040)
VALID_SEEDS = range(20_000, 20_036)  # model selection and per-class calibration (on 4 games both were noise)
GAME_SECONDS = 10  # generating one synthetic game's features, roughly, on a laptop CPU
TEST_SEEDS = range(30_000, 30_050)  # 50 held-out games: rare classes (red cards) appear a few times
RARE_BOOST = 5.0  # penalties and red cards are rare in real games: show the model more of them


def _models():
    from spotting.model import ModelConfig

    return [  # (report row, run folder, model); the first is the demo model
        ("CALF + attention on 2-s tokens (demo model)", "calf_attention", ModelConfig(feature_dim=512)),
        ("CALF (no attention)", "calf", ModelConfig(feature_dim=512, attention=False)),
    ]


def demo_game() -> Game:
    """The embedded demo game (SoccerNet-style folder with video)."""
    if not (DEMO_GAME_DIR / "Labels-v2.json").is_file():
        raise InputError(DEMO_GAME_DIR, "the demo game is missing", "rebuild it with: python -m spotting.demo build")
    return game_at(DEMO_GAME_DIR, features=DEMO_FEATURES)


def demo_checkpoint() -> Path:
    """The demo model (CALF + attention, trained on other synthetic games)."""
    if not DEMO_CHECKPOINT.is_file():
        raise InputError(DEMO_CHECKPOINT, "the demo model is missing", "rebuild it with: python -m spotting.demo build")
    return DEMO_CHECKPOINT


@dataclass
class DemoBudget:
    """The same training budget for the models compared in the report."""

    epochs: int = 120
    chunks_per_epoch: int = 2048
    batch_size: int = 32
    valid_every: int = 4
    patience: int = 2
    max_lr_decays: int = 2
    # Ten times CALF's weight: the segmentation curves the app draws become readable much sooner,
    # and spotting is no worse for it (checked on planted-signature games).
    segmentation_weight: float = 0.005


def _games(root: Path, seeds: range, video: bool, rare_boost: float) -> list[Game]:
    from tqdm import tqdm

    from spotting.synth import generate_game

    games = []
    for seed in tqdm(seeds, desc=f"synthetic games → {root}", unit="game"):
        folder = root / f"synthetic_{seed}"
        if (folder / "Labels-v2.json").is_file():  # cached from an earlier build
            games.append(game_at(folder, features=DEMO_FEATURES))
            continue
        games.append(generate_game(folder, seed, video=video, rare_boost=rare_boost, force=True))
    return games


def _train(work: Path, name: str, model: "ModelConfig", budget: DemoBudget, train_games, valid_games) -> Path:
    from spotting.train import TrainConfig, train

    out = work / name
    if out.exists():
        shutil.rmtree(out)
    config = TrainConfig(out=out, epochs=budget.epochs, batch_size=budget.batch_size,
                         chunks_per_epoch=budget.chunks_per_epoch, valid_every=budget.valid_every,
                         patience=budget.patience, max_lr_decays=budget.max_lr_decays, seed=0, device="auto",
                         segmentation_weight=budget.segmentation_weight,
                         model=model)
    return train(config, train_games, valid_games, DEMO_FEATURES)


def evaluate_checkpoint(checkpoint: Path, games: list[Game]) -> dict[str, float]:
    """Average-mAP loose and tight of a checkpoint over games (no threshold): with the checkpoint's
    post-processing settings (calibrated NMS windows, suppression and refinement; an older checkpoint:
    20-s hard NMS and its calibrated refinement), the uniform refinement (`` uniform``) and none
    (`` head``), both with 20-s hard NMS."""
    from tqdm import tqdm

    from spotting.infer import load_checkpoint, score_game
    from spotting.metrics import average_map
    from spotting.postprocess import Refinement, SpottingConfig, detect_events

    loaded = load_checkpoint(checkpoint)
    labels, scores = [], []
    for game in tqdm(games, desc=f"evaluating {checkpoint.parent.name}", unit="game"):
        scores.append(score_game(loaded, game))
        labels.append(game.read_labels())
    variants = {"": SpottingConfig.from_checkpoint_info(loaded.info, loaded.spec),
                " uniform": SpottingConfig(refinement=Refinement()),
                " head": SpottingConfig(refinement=Refinement.uniform(0.0))}
    row = {}
    for suffix, settings in variants.items():
        predictions = [detect_events(s, settings) for s in scores]
        for metric in ("loose", "tight"):
            row[metric + suffix] = float(average_map(labels, predictions, metric).a_mAP)
    return row


def report(work: Path, checkpoints: dict[str, Path], write: bool = True) -> dict:
    """The held-out table of ``checkpoints`` (printed; written to ``report.json`` when ``write``). The held-out
    games are generated on first use, after a line saying so: minutes of silence read as a hang."""
    import sys

    missing = sum(not (work / "test" / f"synthetic_{seed}" / "Labels-v2.json").is_file() for seed in TEST_SEEDS)
    if missing:  # on stderr: stdout is the table
        print(f"demo report: generating {missing} held-out synthetic games under {work / 'test'} first (about "
              f"{GAME_SECONDS} s each, ~{round(missing * GAME_SECONDS / 60)} min; kept for later reports)", file=sys.stderr)
    test_games = _games(work / "test", TEST_SEEDS, video=False, rare_boost=1.0)
    rows = {name: evaluate_checkpoint(path, test_games) for name, path in checkpoints.items()}
    result = {"test_games": len(test_games), "test_seeds": [TEST_SEEDS.start, TEST_SEEDS.stop], "results": rows}
    if write:
        DEMO_REPORT.parent.mkdir(parents=True, exist_ok=True)
        DEMO_REPORT.write_text(json.dumps(result, indent=1) + "\n")
    print("| model | loose | tight | loose, uniform refinement | tight, uniform | loose, head positions | tight, head |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(f"{row[k]:.3f}" for k in ("loose", "tight", "loose uniform", "tight uniform",
                                                                   "loose head", "tight head")) + " |")
    return result


def build(work: Path, force: bool = False, budget: DemoBudget | None = None, keep_game: bool = False) -> None:
    from spotting.synth import generate_game

    budget = budget or DemoBudget()
    if DEMO_GAME_DIR.exists() and any(DEMO_GAME_DIR.iterdir()) and not force:
        raise InputError(DEMO_GAME_DIR, "demo assets already exist", "pass --force to rebuild them")
    if keep_game and (DEMO_GAME_DIR / "Labels-v2.json").is_file():
        print("1/4 demo game: kept (it is deterministic from its seed)")
    else:
        print("1/4 demo game (with video)")
        generate_game(DEMO_GAME_DIR, DEMO_SEED, video=True, force=True)
    print("2/4 training and validation games (features only)")
    train_games = _games(work / "train", TRAIN_SEEDS, video=False, rare_boost=RARE_BOOST)
    valid_games = _games(work / "valid", VALID_SEEDS, video=False, rare_boost=RARE_BOOST)
    print("3/4 training CALF + attention and plain CALF on the same budget")
    models = _models()
    runs = {name: _train(work, folder, config, budget, train_games, valid_games) for name, folder, config in models}
    shutil.copyfile(runs[models[0][0]], DEMO_CHECKPOINT)
    print("4/4 held-out report")
    report(work, runs)


def main(argv: list[str] | None = None) -> int:
    import time

    from spotting.cli import print_summary
    from spotting.options import add_force, command_parser, description_of

    started = time.perf_counter()
    parser = command_parser("python -m spotting.demo", description_of(__doc__), [
        "python -m spotting.demo build --force", "python -m spotting.demo build --keep-game --force",
        "python -m spotting.demo report --checkpoint assets/demo/model.pt"])
    parser.add_argument("command", choices=("build", "report"), help="build: the demo game, its training and model, "
                        "then the report (about 45 min); report: the held-out table (with / without attention); its "
                        f"first use generates the {len(TEST_SEEDS)} held-out games under --work (~"
                        f"{round(len(TEST_SEEDS) * GAME_SECONDS / 60)} min)")
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "demo-build",
                        help="folder for training/validation/test games and runs (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=DemoBudget.epochs, help="build: most training epochs per model")
    add_force(parser, f"the demo assets ({ASSETS.relative_to(ROOT)})")
    parser.add_argument("--keep-game", action="store_true", help="keep the demo game, retrain the model only")
    parser.add_argument("--checkpoint", type=Path, action="append",
                        help="report: score this checkpoint (repeatable) on the held-out games instead of the build's "
                             "runs; the table is printed, report.json is left as it is")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.work, args.force, DemoBudget(epochs=args.epochs), keep_game=args.keep_game)
        written = f"demo game, {DEMO_CHECKPOINT.name} and {DEMO_REPORT.name} written under {ASSETS}"
    elif args.checkpoint:
        missing = [path for path in args.checkpoint if not path.is_file()]
        if missing:
            raise InputError(missing[0], "checkpoint not found", "check the path")
        report(args.work, {str(path): path for path in args.checkpoint}, write=False)
        written = "the table printed above (report.json unchanged)"
    else:
        report(args.work, {name: args.work / folder / "best.pt" for name, folder, _ in _models()
                           if (args.work / folder / "best.pt").is_file()})
        written = f"{DEMO_REPORT.name} written under {ASSETS}"
    print_summary(f"demo {args.command}", f"synthetic games and runs under {args.work}", written, started)
    return 0


def cli(argv: list[str] | None = None) -> int:
    """``python -m spotting.demo``: bad input → exit 2 with one line."""
    return run_cli(main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
