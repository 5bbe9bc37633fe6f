"""Distributed training and inference on 2 CPU processes (Gloo), and the DataLoader batches.

The torchrun tests start ``python -m torch.distributed.run --nproc_per_node=2`` on this file
(``python tests/test_distributed.py step|fail …``, see the bottom) or on the commands themselves.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run by torchrun as a script: the checkout's spotting package
sys.path.insert(0, str(ROOT / "tests"))  # planted.py

from planted import planted_game  # noqa: E402
from spotting.model import ModelConfig  # noqa: E402
from spotting.sampling import BatchLoader, ChunkSampler, HalfData, half_data, make_batch, rank_batch_slice  # noqa: E402

SMALL = ModelConfig(feature_dim=32, chunk_seconds=60, receptive_field_seconds=20, dropout=0.0)


def torchrun(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """``torchrun --nproc_per_node=2 ARGS`` from the checkout, one CPU thread per process."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout, env=environment)


def write_planted(folder: Path, seed: int, num_frames: int = 1200, dtype=np.float32) -> None:
    from spotting.synth.game import labels_dict

    folder.mkdir(parents=True)
    features, labels = planted_game(np.random.default_rng(seed), num_frames=num_frames)
    for half, array in features.items():
        np.save(folder / f"{half}_planted.npy", array.astype(dtype))
    (folder / "Labels-v2.json").write_text(json.dumps(labels_dict(labels, "home", "away")))


def memmapped_halves(root: Path, games: int = 2, dtype=np.float16) -> list[HalfData]:
    """Planted halves stored as float16 .npy files, memory-mapped as training maps them."""
    from spotting.sampling import load_halves
    from spotting.soccernet import game_at

    for g in range(games):
        write_planted(root / f"game{g}", g, dtype=dtype)
    return load_halves([game_at(root / f"game{g}", features="planted.npy") for g in range(games)], SMALL)


# -- batches ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch,world", [(32, 1), (32, 2), (7, 2), (10, 3), (3, 3)])
def test_rank_parts_add_up_to_each_global_batch(batch: int, world: int) -> None:
    epoch = np.arange(1000)
    for step in range(20):
        parts = [epoch[r::world][rank_batch_slice(step, batch, r, world)] for r in range(world)]
        assert sorted(np.concatenate(parts).tolist()) == list(range(step * batch, (step + 1) * batch))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1 and min(map(len, parts)) >= 1


@pytest.mark.parametrize("workers", [0, 2])
def test_dataloader_batches_equal_the_batch_builder(tmp_path: Path, workers: int) -> None:
    """Worker-built batches (float16 kept as stored) == make_batch's float32 batches, every rank's part."""
    halves = memmapped_halves(tmp_path)
    assert isinstance(halves[0].features, np.memmap) and halves[0].features.dtype == np.float16
    full = ChunkSampler(halves, SMALL, seed=4)
    for world in (1, 2):
        for rank in range(world):
            loader = BatchLoader(ChunkSampler(halves, SMALL, seed=4, rank=rank, world_size=world), 70, 16, workers=workers)
            assert len(loader) == 4
            for epoch in (0, 1):
                index, starts = full.epoch(epoch, 70)
                for step, batch in enumerate(loader.epoch(epoch)):
                    ours = slice(step * 16, (step + 1) * 16)
                    expected = make_batch(halves, index[ours][rank::world], starts[ours][rank::world], SMALL)
                    assert batch[0].dtype == torch.float16
                    for got, want in zip((batch[0].float(), *batch[1:]), expected):
                        np.testing.assert_array_equal(got.numpy(), want)
                assert step == 3


def test_a_memmapped_half_pickles_as_its_file(tmp_path: Path) -> None:
    """Workers started by spawn/forkserver get the file to map, not a copy of the features."""
    half = memmapped_halves(tmp_path, games=1)[0]
    data = pickle.dumps(half)
    assert len(data) < half.shifts.nbytes + 4096  # the targets, and no features (76.8 kB here)
    again = pickle.loads(data)
    assert isinstance(again.features, np.memmap) and again.features.dtype == np.float16
    np.testing.assert_array_equal(again.features, half.features)
    np.testing.assert_array_equal(again.shifts, half.shifts)
    labels = planted_game(np.random.default_rng(0), num_frames=300, events_per_half=5)[1]
    plain = half_data(np.ones((300, 32), np.float32), labels, 1, SMALL)
    assert pickle.loads(pickle.dumps(plain)).features.sum() == 300 * 32  # in-memory arrays as before


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs /proc (Linux)")
def test_released_pages_leave_the_resident_set(tmp_path: Path) -> None:
    def resident_file_kb() -> int:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("RssFile"))
        return int(line.split()[1])

    path = tmp_path / "big.npy"
    np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(4000, 4096))[:] = 1  # 32 MB
    half = HalfData(np.load(path, mmap_mode="r"), np.zeros((4000, 17), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64))
    before = resident_file_kb()
    assert float(half.features[::4].astype(np.float32).sum()) == 1000 * 4096  # touches most pages
    assert resident_file_kb() - before > 20_000
    half.release_pages()
    assert resident_file_kb() - before < 5_000


# -- 2 processes ----------------------------------------------------------------------------------

def _step_run(out: Path, batch_size: int) -> None:
    """Under torchrun: one train_step of DDP + synchronised BatchNorm; rank 0 saves weights, grads, loss."""
    from spotting import distributed

    with distributed.session("cpu") as rank:
        result = _one_ddp_step(rank, batch_size)  # the DDP model is gone before the group is
        if rank.is_main:
            torch.save(result, out)


def _one_ddp_step(rank, batch_size: int) -> dict:
    from spotting import distributed
    from spotting.train import train_step

    model, k, halves = _step_setup()
    loader = BatchLoader(ChunkSampler(halves, SMALL, seed=3, rank=rank.rank, world_size=rank.world_size), 64, batch_size)
    ddp = distributed.data_parallel(model, torch.device("cpu"))
    assert isinstance(ddp, torch.nn.parallel.DistributedDataParallel)
    assert type(model.norm_seg) is distributed.GlobalBatchNorm
    optimizer = torch.optim.SGD(ddp.parameters(), lr=STEP_LR)
    losses = distributed.all_sum(train_step(ddp, optimizer, next(iter(loader.epoch(0))), k, 0.000367, rank.world_size))
    return {"state": model.state_dict(), "loss": losses, "grads": {n: p.grad for n, p in model.named_parameters()}}


# SGD, not training's Adam: Adam's first step is lr·g/(|g| + 1e-7), which turns rounding-level
# gradients (~1e-9, e.g. the bias before BatchNorm, 0 in exact arithmetic) into updates of up to 1e-5 of
# either sign. With SGD a wrong gradient (a missing 1/2, an unsynchronised BatchNorm) moves weights by
# ~1e-3; the gradients themselves are compared as well.
STEP_LR = 0.1


def _step_setup() -> tuple[torch.nn.Module, torch.Tensor, list[HalfData]]:
    """The same model (seeded, dropout off), K and planted halves in every process."""
    from spotting.encoding import k_frames
    from spotting.model import CALF

    rng = np.random.default_rng(7)
    halves = []
    for _ in range(2):
        features, labels = planted_game(rng, num_frames=800)
        halves += [half_data(features[h], labels, h, SMALL) for h in (1, 2)]
    torch.manual_seed(0)
    model = CALF(ModelConfig(**{**SMALL.to_dict(), "attention": True}))
    with torch.no_grad():  # the attention branch's scale starts at 0; open it so its gradients matter too
        model.attention.scale.fill_(0.5)
    return model, torch.as_tensor(k_frames(SMALL.framerate), dtype=torch.float32), halves


@pytest.mark.parametrize("batch_size", [8, 7])  # 7: parts of 4 and 3 chunks
def test_one_step_on_two_ranks_equals_one_step_in_one_process(tmp_path: Path, batch_size: int) -> None:
    from spotting.train import train_step

    result = torchrun(__file__, "step", str(tmp_path / "step.pt"), str(batch_size))
    assert result.returncode == 0, result.stderr[-3000:]
    model, k, halves = _step_setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=STEP_LR)
    batch = next(iter(BatchLoader(ChunkSampler(halves, SMALL, seed=3), 64, batch_size).epoch(0)))
    assert len(batch[0]) == batch_size
    loss = train_step(model, optimizer, batch, k, 0.000367)
    two = torch.load(tmp_path / "step.pt", weights_only=True)
    torch.testing.assert_close(two["loss"], loss, rtol=1e-5, atol=1e-5)
    for name, parameter in model.named_parameters():  # the gradient of the whole batch's loss, not half of it
        torch.testing.assert_close(two["grads"][name], parameter.grad, rtol=1e-4, atol=1e-5, msg=name)
    for name, value in model.state_dict().items():  # weights and the BatchNorm's running statistics
        torch.testing.assert_close(two["state"][name], value, rtol=0, atol=1e-5, msg=name)


def _failing_run(data: Path, out: Path) -> int:
    """Under torchrun: training whose rank 1 raises at its second step."""
    import spotting.train as train_module

    original = train_module.train_step
    calls = []

    def breaking_step(*args, **kwargs):
        calls.append(1)
        if int(os.environ["RANK"]) == 1 and len(calls) == 2:
            raise RuntimeError("rank 1 broke on purpose")
        return original(*args, **kwargs)

    train_module.train_step = breaking_step
    return train_module.cli(["--soccernet-dir", str(data), "--features", "planted.npy", "--train-split", "train",
                             "--valid-split", "valid", "--out", str(out), "--epochs", "3", "--chunks-per-epoch", "64",
                             "--batch-size", "8", "--device", "cpu", "--workers", "0", "--dist-timeout", "600"])


@pytest.fixture(scope="module")
def planted_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("distributed")
    for split, seeds in (("train", (0, 1, 2)), ("valid", (3,))):
        for seed in seeds:
            write_planted(root / split / f"game{seed}", seed)
    return root


def test_a_failing_rank_ends_the_job_with_its_error(planted_root: Path, tmp_path: Path) -> None:
    """Rank 0 waits in a collective for rank 1, which has died: torchrun stops it, no hang."""
    result = torchrun(__file__, "fail", str(planted_root), str(tmp_path / "run"), timeout=90)
    assert result.returncode != 0
    assert "rank 1 broke on purpose" in result.stdout + result.stderr


def test_torchrun_training_writes_a_checkpoint_that_loads_spots_and_resumes(planted_root: Path, tmp_path: Path) -> None:
    from spotting.checkpoint import load_checkpoint
    from spotting.infer import infer_game
    from spotting.postprocess import detect_events
    from spotting.soccernet import game_at

    out = tmp_path / "run"
    args = ["-m", "spotting.train", "--soccernet-dir", str(planted_root), "--features", "planted.npy",
            "--train-split", "train", "--valid-split", "valid", "--out", str(out), "--chunks-per-epoch", "64",
            "--batch-size", "16", "--valid-every", "1", "--device", "cpu", "--workers", "1", "--no-attention"]
    first = torchrun(*args, "--epochs", "2")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("parameters") == 1 and "2 processes" in first.stdout  # rank 0 alone reports
    assert "calibrated" in first.stdout
    resumed = torchrun(*args, "--epochs", "3", "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "at epoch 2" in resumed.stdout
    log = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log] == [0, 1, 2] and all("valid_a_mAP" in r for r in log)
    loaded = load_checkpoint(out / "best.pt", "cpu")
    assert "refinement" in loaded.info  # calibrated by rank 0; the weights load into a plain CALF
    game = game_at(planted_root / "valid" / "game3", features="planted.npy")
    events = detect_events(infer_game(loaded, {h: game.load_features(h) for h in (1, 2)}))
    assert len(events) > 0


def test_split_inference_on_two_processes_writes_the_files_of_one(planted_root: Path, tmp_path: Path) -> None:
    from spotting.checkpoint import save_checkpoint
    from spotting.model import CALF

    torch.manual_seed(1)
    checkpoint = save_checkpoint(tmp_path / "model.pt", CALF(SMALL), "planted.npy")
    args = ["--soccernet-dir", str(planted_root), "--split", "all", "--checkpoint", str(checkpoint),
            "--device", "cpu", "--save-scores"]
    one = subprocess.run([sys.executable, "-m", "spotting.infer", *args, "--out-dir", str(tmp_path / "one")],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert one.returncode == 0, one.stderr[-3000:]
    two = torchrun("-m", "spotting.infer", *args, "--out-dir", str(tmp_path / "two"))
    assert two.returncode == 0, two.stderr[-3000:]
    assert "4 games read" in two.stderr.splitlines()[-1] and "2 processes" in two.stderr.splitlines()[-1]  # the summary
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert len(files) == 8 and files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.is_file())
    for name in files:
        if name.suffix == ".json":
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
        else:  # .npz: the zip's timestamps differ, the arrays must not
            a, b = np.load(tmp_path / "one" / name), np.load(tmp_path / "two" / name)
            assert sorted(a) == sorted(b) and all(np.array_equal(a[k], b[k]) for k in a)


if __name__ == "__main__":  # run by torchrun from the tests above
    if sys.argv[1] == "step":
        _step_run(Path(sys.argv[2]), int(sys.argv[3]))
    elif sys.argv[1] == "fail":
        raise SystemExit(_failing_run(Path(sys.argv[2]), Path(sys.argv[3])))
