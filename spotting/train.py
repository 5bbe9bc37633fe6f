"""Training: ``python -m spotting.train --soccernet-dir D --features NAME --out DIR``.

Adam + ReduceLROnPlateau on the validation Average-mAP, early stopping after the learning rate has
decayed ``max_lr_decays`` times, best and last checkpoints (weights + config, loadable with
``weights_only=True``), a JSON-lines metrics log.
At the end the best checkpoint gets its per-class post-processing calibrated on the validation games
(:mod:`spotting.calibration`).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from spotting.checkpoint import resolve_device, save_checkpoint
from spotting.cli import run_cli
from spotting.encoding import k_frames
from spotting.errors import InputError
from spotting.infer import GameScores, infer_half
from spotting.losses import calf_loss
from spotting.metrics import average_map
from spotting.model import CALF, ModelConfig, count_parameters
from spotting.postprocess import detect_events
from spotting.sampling import ChunkSampler, HalfData, load_halves, make_batch
from spotting.soccernet import DEFAULT_FEATURES, Annotations, Game, find_games


@dataclass
class TrainConfig:
    out: Path
    epochs: int = 100
    batch_size: int = 32
    chunks_per_epoch: int = 6400
    lr: float = 1e-3
    weight_decay: float = 0.0
    valid_every: int = 5  # epochs between validations
    patience: int = 3  # validations without improvement before the LR decays
    max_lr_decays: int = 3  # stop after this many decays
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    threads: int = 0  # torch CPU threads (0: torch's default)
    segmentation_weight: float = 0.000367  # CALF's weight of the context-aware loss (spotting loss: 1)
    model: ModelConfig = field(default_factory=ModelConfig)


def _validation_score(model: CALF, halves: list[HalfData], labels: list[Annotations], device) -> float:
    """Average-mAP (loose) over the validation games (each game: its two halves in order)."""
    predictions = []
    for g in range(len(labels)):
        halves_scores = {h + 1: infer_half(model, halves[2 * g + h].features, device) for h in range(2)}
        predictions.append(detect_events(GameScores(halves_scores, str(device), 0.0)))
    return float(average_map(labels, predictions, "loose", model.config.framerate).a_mAP)


def train(config: TrainConfig, train_games: list[Game], valid_games: list[Game], features: str,
          progress: Callable[[dict], None] | None = None) -> Path:
    """Train and return the path of the best checkpoint."""
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = resolve_device(config.device)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    model_config = config.model
    train_halves = load_halves(train_games, model_config)
    valid_halves = load_halves(valid_games, model_config)
    valid_labels = [g.read_labels() for g in valid_games]
    model = CALF(model_config).to(device)
    print(f"CALF{' + attention' if model_config.attention else ''}: {count_parameters(model):,} parameters, "
          f"{len(train_games)} training / {len(valid_games)} validation games, device {device}")
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.999), eps=1e-7,
                                 weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.1, patience=config.patience)
    k = torch.as_tensor(k_frames(model_config.framerate), dtype=torch.float32, device=device)
    sampler = ChunkSampler(train_halves, model_config, seed=config.seed)
    first_epoch, best, decays = 0, -math.inf, 0
    last_path, best_path = out / "last.pt", out / "best.pt"
    if config.resume and last_path.is_file():
        state = torch.load(last_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["info"]["optimizer"])
        scheduler.load_state_dict(state["info"]["scheduler"])
        first_epoch, best, decays = state["info"]["epoch"] + 1, state["info"]["best"], state["info"]["decays"]
        print(f"resumed from {last_path} at epoch {first_epoch}")
    log = open(out / "metrics.jsonl", "a", encoding="utf-8")
    try:
        for epoch in range(first_epoch, config.epochs):
            model.train()
            index, starts = sampler.epoch(epoch, config.chunks_per_epoch)
            steps = len(starts) // config.batch_size
            totals = np.zeros(3)
            started = time.perf_counter()
            bar = tqdm(range(steps), desc=f"epoch {epoch}", unit="batch", leave=False, dynamic_ncols=True, disable=None)
            for step in bar:
                sl = slice(step * config.batch_size, (step + 1) * config.batch_size)
                f, v, s, t = (torch.as_tensor(a, device=device) for a in make_batch(train_halves, index[sl], starts[sl], model_config))
                seg, spot = model(f, v)
                loss, seg_loss, spot_loss = calf_loss(s, t, seg, spot, k, config.segmentation_weight)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                totals += (loss.item(), seg_loss.item(), spot_loss.item())
                bar.set_postfix(loss=f"{totals[0] / (step + 1):.3f}")
            record = {"epoch": epoch, "loss": totals[0] / max(steps, 1), "seg_loss": totals[1] / max(steps, 1),
                      "spot_loss": totals[2] / max(steps, 1), "lr": optimizer.param_groups[0]["lr"],
                      "seconds": round(time.perf_counter() - started, 2)}
            if valid_halves and ((epoch + 1) % config.valid_every == 0 or epoch + 1 == config.epochs):
                score = _validation_score(model, valid_halves, valid_labels, device)
                record["valid_a_mAP"] = score
                lr_before = optimizer.param_groups[0]["lr"]
                scheduler.step(score)
                decays += optimizer.param_groups[0]["lr"] < lr_before
                if score > best:
                    best = score
                    save_checkpoint(best_path, model, features, epoch=epoch, score=score)
                    record["best"] = True
            elif not valid_halves:
                save_checkpoint(best_path, model, features, epoch=epoch)
            save_checkpoint(last_path, model, features, epoch=epoch, best=best, decays=int(decays),
                            optimizer=optimizer.state_dict(), scheduler=scheduler.state_dict())
            log.write(json.dumps(record) + "\n")
            log.flush()
            print(json.dumps(record))
            if progress is not None:
                progress(record)
            if decays >= config.max_lr_decays:
                print(f"stopping: learning rate decayed {decays} times")
                break
    finally:
        log.close()
    if valid_games and best_path.is_file():
        from spotting.calibration import calibrate_checkpoint, describe, describe_report

        refinement, report = calibrate_checkpoint(best_path, valid_games)
        print("post-processing calibrated on the validation games: " + describe(refinement))
        print(describe_report(report))
    return best_path


def _games(root: Path, split: str, features: str) -> list[Game]:
    """Games of a split: a text file listing game folders (relative to the root), a sub-folder of the
    root (every game under it), ``all`` (every game under the root), or a SoccerNet split name."""
    if Path(split).is_file():
        names = {line.strip() for line in Path(split).read_text().splitlines() if line.strip()}
        games = [g for g in find_games(root, None, features, require="both") if g.name in names]
    elif split == "all":
        games = find_games(root, None, features, require="both")
    elif (Path(root) / split).is_dir():
        games = find_games(Path(root) / split, None, features, require="both")
    else:
        games = find_games(root, split, features, require="both")
    if not games and split:
        raise InputError(root, f"no game of split {split!r} has both Labels-v2.json and 1_/2_{features}",
                         "check --soccernet-dir, --features and the split")
    return games


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m spotting.train", description=__doc__.splitlines()[0])
    p.add_argument("--soccernet-dir", type=Path, required=True)
    p.add_argument("--features", default=DEFAULT_FEATURES, help="feature file name after 1_/2_ (default %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="output folder for checkpoints and metrics.jsonl")
    p.add_argument("--train-split", default="train", help="SoccerNet split name, a sub-folder of the root, 'all', or a file listing game folders")
    p.add_argument("--valid-split", default="valid", help="SoccerNet split name, a file, or '' for none")
    p.add_argument("--framerate", type=float, default=2.0)
    p.add_argument("--no-attention", action="store_true", help="plain CALF without the self-attention block")
    p.add_argument("--attention-pool", type=int, default=ModelConfig.attention_pool,
                   help="frames per attention token (default %(default)s; 1: every frame, as the seed)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    p.add_argument("--chunks-per-epoch", type=int, default=TrainConfig.chunks_per_epoch)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--valid-every", type=int, default=TrainConfig.valid_every)
    p.add_argument("--patience", type=int, default=TrainConfig.patience)
    p.add_argument("--dropout", type=float, default=ModelConfig.dropout)
    p.add_argument("--segmentation-weight", type=float, default=TrainConfig.segmentation_weight,
                   help="weight of the context-aware segmentation loss (default: CALF's %(default)s)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:1, ...")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--force", action="store_true", help="train into an OUT that already holds checkpoints")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (args.out / "best.pt").exists() and not (args.force or args.resume):
        raise InputError(args.out, "already holds checkpoints", "pass --resume to continue, --force to overwrite, or another --out")
    probe_games = _games(args.soccernet_dir, args.train_split, args.features)
    dim = int(probe_games[0].load_features(1).shape[1])
    model = ModelConfig(feature_dim=dim, framerate=args.framerate, attention=not args.no_attention,
                        attention_pool=args.attention_pool, dropout=args.dropout)
    config = TrainConfig(out=args.out, epochs=args.epochs, batch_size=args.batch_size, chunks_per_epoch=args.chunks_per_epoch,
                         lr=args.lr, valid_every=args.valid_every, patience=args.patience, seed=args.seed,
                         device=args.device, resume=args.resume, threads=args.threads,
                         segmentation_weight=args.segmentation_weight, model=model)
    valid = _games(args.soccernet_dir, args.valid_split, args.features) if args.valid_split else []
    (args.out).mkdir(parents=True, exist_ok=True)
    (args.out / "train_config.json").write_text(json.dumps({**asdict(config), "out": str(config.out)}, indent=1, default=str))
    best = train(config, probe_games, valid, args.features)
    print(f"best checkpoint: {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
