"""Training: ``python -m spotting.train --soccernet-dir D --features NAME --out DIR``.

Adam + ReduceLROnPlateau on the validation Average-mAP, early stopping after the learning rate has
decayed ``max_lr_decays`` times, best and last checkpoints (weights + config, loadable with
``weights_only=True``), a JSON-lines metrics log.
At the end the best checkpoint gets its per-class post-processing calibrated on the validation games
(:mod:`spotting.calibration`).

Any class set: ``--classes`` (soccernet-v2, ball-2023, ball-2024 or a class-list file; default: recognised
from the label files), ``--labels-file`` and ``--framerate`` (the features'; default: the set's rate) —
all stored in the checkpoint, which inference then writes its labels from. Features whose own rate
contradicts ``--framerate`` (from games.json, the video or the last label) exit 2 naming the file.

``torchrun --nproc_per_node=N -m spotting.train …`` is the same command on N processes
(:mod:`spotting.distributed`): DistributedDataParallel with synchronised BatchNorm, each rank
training on its share of every global batch (``--batch-size`` stays the global batch), rank 0 alone
validating, calibrating and writing files while the others wait.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from torch import nn
from torch.distributed.elastic.multiprocessing.errors import record as record_errors

from spotting import distributed
from spotting.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from spotting.cli import plural, print_summary, run_cli
from spotting.datatree import data_specifications
from spotting.encoding import k_frames
from spotting.errors import InputError
from spotting.infer import score_game
from spotting.losses import calf_loss
from spotting.metrics import average_map
from spotting.model import CALF, ModelConfig, count_parameters
from spotting.options import (add_device, add_features, add_force, add_out, add_soccernet_dir, add_split, add_task_options,
                              command_parser, require_soccernet_dir)
from spotting.postprocess import default_settings, detect_events
from spotting.sampling import BatchLoader, ChunkSampler, load_halves
from spotting.selection import select_games
from spotting.soccernet import DEFAULT_FEATURES, Annotations, Game
from spotting.timebase import check_game_rates


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
    workers: int = 2  # DataLoader processes building batches per rank (0: in the training process)
    dist_timeout_s: float = distributed.DEFAULT_TIMEOUT_S  # longest wait in a collective (torchrun)
    segmentation_weight: float = 0.000367  # CALF's weight of the context-aware loss (spotting loss: 1)
    calibrate: bool = True  # calibrate the best checkpoint's post-processing on the validation games at the end
    model: ModelConfig = field(default_factory=ModelConfig)


def validation_score(loaded: LoadedModel, games: list[Game], labels: list[Annotations]) -> float:
    """Average-mAP over the validation games (scored by :func:`spotting.infer.score_game`, the task's
    default post-processing), with the task's metric and evaluation rate (SoccerNet-v2: loose at 2 fps;
    Ball Action: mAP@1 at 25 fps). Features are memory-mapped per game, so memory holds one game at a time."""
    spec = loaded.spec
    predictions = [detect_events(score_game(loaded, game), default_settings(spec)) for game in games]
    return float(average_map(labels, predictions, spec.metric, spec.framerate, spec.num_classes).a_mAP)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: tuple[torch.Tensor, ...],
               k: torch.Tensor, segmentation_weight: float, world_size: int = 1) -> torch.Tensor:
    """One optimisation step on this rank's part of a global batch; returns the part's loss sums
    ``(3,)`` (total, segmentation, spotting), detached, on the model's device.

    ``batch``: features ``(b, chunk + 2·margin, D)`` in any float dtype (float16 goes to the device as
    is and becomes float32 there), valid mask, shifts, targets (:class:`~spotting.sampling.BatchLoader`).
    CALF's losses are sums over the batch while DistributedDataParallel averages gradients over the
    ranks: scaling each rank's loss by ``world_size`` makes the step that of one process on the whole
    global batch."""
    features, valid, shifts, targets = (t.to(k.device, non_blocking=True) for t in batch)
    segmentation, spotting = model(features.float(), valid)
    loss, seg_loss, spot_loss = calf_loss(shifts, targets, segmentation, spotting, k, segmentation_weight)
    optimizer.zero_grad(set_to_none=True)
    (loss * world_size).backward()
    optimizer.step()
    return torch.stack((loss, seg_loss, spot_loss)).detach()



@dataclass
class Run:
    """What a training run carries from one step to the next."""

    net: CALF  # the model itself: validated, saved
    model: nn.Module  # ``net``, or its DistributedDataParallel wrapper under torchrun: trained
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau
    first_epoch: int = 0
    best: float = -math.inf  # best validation score so far
    decays: int = 0  # learning-rate decays so far (early stop after ``max_lr_decays``)


def _resume_state(path: Path, net: CALF) -> dict:
    """``last.pt`` read through the checkpoint loader and its checks (format, config, weights that fit), its
    weights put into ``net``; :class:`InputError` naming the file for a corrupt, foreign or older one."""
    loaded = load_checkpoint(path, device="cpu")
    info = loaded.info
    if not all(key in info for key in ("epoch", "best", "decays", "optimizer", "scheduler")):
        raise InputError(path, "holds no training state to resume (not a last.pt written by spotting.train)",
                         "drop --resume to start over (with --force), or point --out at the run to continue")
    try:
        net.load_state_dict(loaded.model.state_dict())
    except RuntimeError:
        raise InputError(path, "was trained with another model configuration than this command's",
                         "resume with the options of that run, or start over with --force") from None
    return info


def build_run(config: TrainConfig, device: torch.device, resume_from: Path | None = None) -> Run:
    """The model (on ``device``, wrapped for DistributedDataParallel under torchrun), Adam and
    ReduceLROnPlateau on the validation score; from ``resume_from`` (a ``last.pt``, through the
    checkpoint loader) when given: its weights, optimizer and scheduler states and counters."""
    rank = distributed.current()
    net = CALF(config.model)
    info = _resume_state(resume_from, net) if resume_from is not None else None
    net.to(device)
    model = distributed.data_parallel(net, device)  # net itself in one process
    if rank.distributed:  # distinct dropout masks per rank (one process keeps its stream as before)
        torch.manual_seed(config.seed + 1_000_003 * rank.rank)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.999), eps=1e-7,
                                 weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.1, patience=config.patience)
    run = Run(net, model, optimizer, scheduler)
    if info is not None:
        optimizer.load_state_dict(info["optimizer"])
        scheduler.load_state_dict(info["scheduler"])
        run.first_epoch, run.best, run.decays = info["epoch"] + 1, info["best"], info["decays"]
    return run


def train_epoch(run: Run, loader: BatchLoader, epoch: int, k: torch.Tensor, config: TrainConfig) -> dict:
    """One pass over ``loader``'s batches of ``epoch``; the epoch's log record (mean losses, learning
    rate, seconds). A progress bar with the running loss on rank 0."""
    rank = distributed.current()
    run.model.train()
    totals = torch.zeros(3, dtype=torch.float64)
    started = time.perf_counter()
    bar = tqdm(loader.epoch(epoch), total=len(loader), desc=f"epoch {epoch}", unit="batch", leave=False,
               dynamic_ncols=True, disable=None if rank.is_main else True)
    for step, batch in enumerate(bar):
        losses = train_step(run.model, run.optimizer, batch, k, config.segmentation_weight, rank.world_size)
        totals += distributed.all_sum(losses).double().cpu()  # the global batch's loss sums
        bar.set_postfix(loss=f"{totals[0].item() / (step + 1):.3f}")
    steps = max(len(loader), 1)
    return {"epoch": epoch, "loss": totals[0].item() / steps, "seg_loss": totals[1].item() / steps,
            "spot_loss": totals[2].item() / steps, "lr": run.optimizer.param_groups[0]["lr"],
            "seconds": round(time.perf_counter() - started, 2)}


def validate(run: Run, record: dict, scorer: Callable[[], float], device: torch.device) -> bool:
    """Rank 0 scores the validation games (``scorer``) while the others wait; every rank steps the
    scheduler with that score (the learning rates stay equal). Updates ``record``, the best score and
    the decay count; returns whether this is the best model so far."""
    rank = distributed.current()
    score = scorer() if rank.is_main else math.nan
    score = distributed.broadcast_float(score, device)
    record["valid_a_mAP"] = score
    lr_before = run.optimizer.param_groups[0]["lr"]
    run.scheduler.step(score)
    run.decays += run.optimizer.param_groups[0]["lr"] < lr_before
    if score > run.best:
        run.best = score
        record["best"] = True
        return True
    return False


def save_last(run: Run, path: Path, features: str, epoch: int) -> None:
    """``last.pt``: the weights and everything :func:`build_run` needs to resume after ``epoch``."""
    save_checkpoint(path, run.net, features, epoch=epoch, best=run.best, decays=int(run.decays),
                    optimizer=run.optimizer.state_dict(), scheduler=run.scheduler.state_dict())


def calibrate(best_path: Path, valid_games: list[Game], device: torch.device, classes: tuple[str, ...]) -> None:
    """Calibrate the best checkpoint's post-processing on the validation games (:mod:`spotting.calibration`);
    ``classes`` (the model's) name the classes in the report."""
    from spotting.calibration import calibrate_checkpoint, describe_report, describe_settings

    settings, report = calibrate_checkpoint(best_path, valid_games, device=str(device))
    print("post-processing calibrated on the validation games: " + describe_settings(settings, classes))
    print(describe_report(report))


def train(config: TrainConfig, train_games: list[Game], valid_games: list[Game], features: str,
          progress: Callable[[dict], None] | None = None) -> Path:
    """Train and return the path of the best checkpoint (on every rank; rank 0 writes it).

    In one process, or on every rank of an initialised process group (:func:`spotting.distributed.session`).
    The steps: data, :func:`build_run`, then per epoch :func:`train_epoch`, :func:`validate` every
    ``valid_every`` epochs, :func:`save_last` and the log; at the end :func:`calibrate`."""
    rank = distributed.current()
    if config.threads:
        torch.set_num_threads(config.threads)
    if config.batch_size < rank.world_size:
        raise InputError(None, f"batch size {config.batch_size} is smaller than the {rank.world_size} processes",
                         "pass a --batch-size of at least --nproc_per_node")
    torch.manual_seed(config.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    device = distributed.local_device(config.device, rank)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    spec = config.model.spec
    train_halves = load_halves(train_games, config.model)
    valid_labels = [g.read_labels(classes=spec) for g in valid_games] if rank.is_main else []  # rank 0 alone validates
    last_path, best_path = out / "last.pt", out / "best.pt"
    run = build_run(config, device, last_path if config.resume and last_path.is_file() else None)
    if rank.is_main:
        print(f"CALF{' + attention' if config.model.attention else ''}: {count_parameters(run.net):,} parameters, "
              f"{len(train_games)} training / {len(valid_games)} validation games, device {device}"
              + (f", {rank.world_size} processes" if rank.distributed else ""))
        if run.first_epoch:
            print(f"resumed from {last_path} at epoch {run.first_epoch}")
    k = torch.as_tensor(k_frames(config.model.framerate, spec.classes), dtype=torch.float32, device=device)
    sampler = ChunkSampler(train_halves, config.model, seed=config.seed, rank=rank.rank, world_size=rank.world_size)
    loader = BatchLoader(sampler, config.chunks_per_epoch, config.batch_size, workers=config.workers,
                         pin_memory=device.type == "cuda")
    as_loaded = LoadedModel(run.net, config.model, device, features, {})
    log = open(out / "metrics.jsonl", "a", encoding="utf-8") if rank.is_main else None
    try:
        for epoch in range(run.first_epoch, config.epochs):
            record = train_epoch(run, loader, epoch, k, config)
            if valid_games and ((epoch + 1) % config.valid_every == 0 or epoch + 1 == config.epochs):
                if validate(run, record, lambda: validation_score(as_loaded, valid_games, valid_labels), device) \
                        and rank.is_main:
                    save_checkpoint(best_path, run.net, features, epoch=epoch, score=run.best)
            elif not valid_games and rank.is_main:
                save_checkpoint(best_path, run.net, features, epoch=epoch)
            if rank.is_main:
                save_last(run, last_path, features, epoch)
                log.write(json.dumps(record) + "\n")
                log.flush()
                print(json.dumps(record))
                if progress is not None:
                    progress(record)
            if run.decays >= config.max_lr_decays:
                if rank.is_main:
                    print(f"stopping: learning rate decayed {run.decays} times")
                break
    finally:
        if log is not None:
            log.close()
    if config.calibrate and rank.is_main and valid_games and best_path.is_file():
        calibrate(best_path, valid_games, device, spec.classes)
    return best_path


def build_parser() -> argparse.ArgumentParser:
    """``python -m spotting.train``'s options (the shared ones from :mod:`spotting.options`)."""
    p = command_parser("python -m spotting.train", "Train a CALF (+ self-attention) spotting model on the features of a "
                       "SoccerNet root; at the end the best checkpoint's post-processing is calibrated on the validation "
                       "games.", [
        "python -m spotting.train --soccernet-dir ~/SoccerNet --features ResNET_TF2_PCA512.npy --out runs/calf-att",
        "python -m spotting.train --soccernet-dir games --train-split all --valid-split '' --out runs/mine"])
    add_soccernet_dir(p)
    add_features(p, DEFAULT_FEATURES + ", SoccerNet's official features; stored in the checkpoint")
    add_out(p, "the run folder: checkpoints (best.pt, last.pt), train_config.json, metrics.jsonl")
    add_split(p, "--train-split", "train")
    add_split(p, "--valid-split", "valid", role="; '' for none (no validation, no calibration)")
    add_task_options(p, "of the features the model reads (Baidu's: 1); stored in the checkpoint")
    p.add_argument("--chunk-seconds", type=float, default=ModelConfig.chunk_seconds,
                   help="training/inference window in seconds (default %(default)s; Ball Action: ~8-15)")
    p.add_argument("--receptive-field-seconds", type=float, default=ModelConfig.receptive_field_seconds,
                   help="temporal context of the pyramid in seconds (default %(default)s; Ball Action: ~2-4)")
    p.add_argument("--no-attention", action="store_true", help="plain CALF without the self-attention block")
    p.add_argument("--attention-pool", type=int, default=ModelConfig.attention_pool,
                   help="frames per attention token (default %(default)s; 1: every frame, as the seed)")
    p.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="most epochs (early stopping may end sooner)")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size,
                   help="chunks per optimiser step (shared among torchrun's processes)")
    p.add_argument("--chunks-per-epoch", type=int, default=TrainConfig.chunks_per_epoch,
                   help="training chunks drawn per epoch")
    p.add_argument("--lr", type=float, default=TrainConfig.lr, help="Adam's initial learning rate")
    p.add_argument("--valid-every", type=int, default=TrainConfig.valid_every, help="epochs between validations")
    p.add_argument("--patience", type=int, default=TrainConfig.patience,
                   help="validations without improvement before the learning rate decays")
    p.add_argument("--dropout", type=float, default=ModelConfig.dropout, help="dropout rate of the model")
    p.add_argument("--segmentation-weight", type=float, default=TrainConfig.segmentation_weight,
                   help="weight of the context-aware segmentation loss (default: CALF's %(default)s)")
    add_device(p)
    p.add_argument("--seed", type=int, default=0, help="seed of the weights' initialisation and the chunk sampling")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: %(default)s, torch's own choice)")
    p.add_argument("--workers", type=int, default=TrainConfig.workers,
                   help="DataLoader processes building batches, per process (default %(default)s; 0: none)")
    p.add_argument("--dist-timeout", type=float, default=distributed.DEFAULT_TIMEOUT_S,
                   help="under torchrun: seconds a process may wait for the others (default %(default)s)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    add_force(p, "an --out that already holds checkpoints")
    return p


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = build_parser()
    args = parser.parse_args(argv)
    require_soccernet_dir(args)
    args.features = args.features or DEFAULT_FEATURES
    if (args.out / "best.pt").exists() and not (args.force or args.resume):
        raise InputError(args.out, "already holds checkpoints", "pass --resume to continue, --force to overwrite, or another --out")
    if args.workers < 0:
        raise InputError(None, f"--workers {args.workers}", "pass 0 or more DataLoader processes")
    spec, found = data_specifications(args.soccernet_dir, args.classes, args.labels_file)
    games = dict(labels_file=spec.labels_file, dataset=spec.dataset)
    probe_games = select_games(args.soccernet_dir, args.train_split, args.features, **games)
    dim = int(probe_games[0].load_features(1).shape[1])
    framerate = args.framerate or spec.framerate
    for game in probe_games:  # features at another rate than the model's: exit 2 naming the file and the fix
        for warning in check_game_rates(game, {h: int(game.load_features(h).shape[0]) for h in (1, 2)}, framerate, spec):
            print(f"warning: {warning}", file=sys.stderr)
    model = ModelConfig(feature_dim=dim, framerate=framerate, attention=not args.no_attention,
                        attention_pool=args.attention_pool, dropout=args.dropout, chunk_seconds=args.chunk_seconds,
                        receptive_field_seconds=args.receptive_field_seconds, specifications=spec)
    print(f"class set: {spec.describe()} ({found}); features at {framerate:g} fps", file=sys.stderr)
    config = TrainConfig(out=args.out, epochs=args.epochs, batch_size=args.batch_size, chunks_per_epoch=args.chunks_per_epoch,
                         lr=args.lr, valid_every=args.valid_every, patience=args.patience, seed=args.seed,
                         device=args.device, resume=args.resume, threads=args.threads, workers=args.workers,
                         dist_timeout_s=args.dist_timeout, segmentation_weight=args.segmentation_weight, model=model)
    valid = select_games(args.soccernet_dir, args.valid_split, args.features, **games)
    with distributed.session(args.device, args.dist_timeout) as rank:  # one process: no process group
        if rank.is_main:
            (args.out).mkdir(parents=True, exist_ok=True)
            (args.out / "train_config.json").write_text(json.dumps({**asdict(config), "out": str(config.out)}, indent=1, default=str))
        best = train(config, probe_games, valid, args.features)
        if rank.is_main:
            print(f"best checkpoint: {best}")
            validation = f" and {plural(len(valid), 'validation game')} (split {args.valid_split})" if valid else ""
            print_summary("train", f"{plural(len(probe_games), 'training game')} (split {args.train_split}){validation} "
                          f"read from {args.soccernet_dir}", f"{best.name} written to {args.out}"
                          + (f" by {rank.world_size} processes" if rank.distributed else ""), started)
    return 0


@record_errors  # under torchrun: an unexpected error's traceback goes into torchrun's failure report
def cli(argv: list[str] | None = None) -> int:
    """``python -m spotting.train`` / ``spotting-train``: bad input → exit 2 with one line."""
    return run_cli(main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
