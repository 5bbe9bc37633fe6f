"""Training really learns; checkpoints rebuild themselves; resume continues."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from planted import planted_game
from spotting.checkpoint import load_checkpoint, save_checkpoint
from spotting.errors import InputError
from spotting.infer import infer_game
from spotting.metrics import average_map
from spotting.model import CALF, ModelConfig
from spotting.postprocess import detect_events
from spotting.soccernet import Annotations, Game, game_at
from spotting.synth.game import labels_dict
from spotting.train import TrainConfig, train

SMALL = dict(feature_dim=32, chunk_seconds=60, receptive_field_seconds=20, dropout=0.0)


def write_game(folder: Path, features: dict[int, np.ndarray], labels: Annotations) -> Game:
    folder.mkdir(parents=True)
    for half, array in features.items():
        np.save(folder / f"{half}_planted.npy", array)
    (folder / "Labels-v2.json").write_text(json.dumps(labels_dict(labels, "home", "away")))
    return game_at(folder, features="planted.npy")


@pytest.fixture(scope="module")
def planted_games(tmp_path_factory) -> dict[str, list[Game]]:
    root = tmp_path_factory.mktemp("planted")
    rng = np.random.default_rng(0)
    return {split: [write_game(root / split / f"game{i}", *planted_game(rng)) for i in range(n)]
            for split, n in (("train", 4), ("valid", 1), ("test", 2))}


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
def test_training_learns_to_spot_planted_events(planted_games, tmp_path: Path, device: str) -> None:
    """~480 steps of a small CALF (on the CPU, or CUDA where present): far better than chance on unseen games
    (0.42 against 0.11 for random events here; 100 epochs bought little more than test time)."""
    torch.manual_seed(0)
    config = TrainConfig(out=tmp_path / "run", epochs=60, batch_size=32, chunks_per_epoch=256, valid_every=15,
                         patience=10, seed=0, device=device, model=ModelConfig(attention=False, **SMALL),
                         calibrate=False)  # learning alone: calibration has its own tests
    best = train(config, planted_games["train"], planted_games["valid"], "planted.npy")
    log = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(log) == 60 and "valid_a_mAP" in log[14] and log[-1]["loss"] < log[0]["loss"]
    loaded = load_checkpoint(best, "cpu")
    labels, predictions, chance = [], [], []
    rng = np.random.default_rng(1)
    for game in planted_games["test"]:
        features = {h: game.load_features(h) for h in (1, 2)}
        predictions.append(detect_events(infer_game(loaded, features)))
        labels.append(game.read_labels())
        n = len(predictions[-1])
        chance.append(Annotations.from_lists(rng.integers(1, 3, n), rng.integers(0, 600_000, n), rng.integers(0, 17, n),
                                             np.ones(n, bool), [""] * n, rng.random(n)))
    learned = average_map(labels, predictions, "loose").a_mAP
    random = average_map(labels, chance, "loose").a_mAP
    assert learned > 0.3 and learned > 2.5 * random, (learned, random)


def test_checkpoint_round_trip_is_exact(tmp_path: Path) -> None:
    model = CALF(ModelConfig(attention=True, **SMALL)).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, "planted.npy", epoch=3)
    loaded = load_checkpoint(path, "cpu")
    assert loaded.config == model.config and loaded.features == "planted.npy" and loaded.info["epoch"] == 3
    x = torch.randn(2, loaded.config.chunk_size + 2 * loaded.config.margin, 32)
    with torch.no_grad():
        for a, b in zip(model(x), loaded.model(x)):
            torch.testing.assert_close(a, b)


def test_bad_checkpoints_are_refused_clearly(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a readable PyTorch checkpoint"):
        load_checkpoint(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(InputError, match="no config inside"):
        load_checkpoint(foreign)
    path = save_checkpoint(tmp_path / "m.pt", CALF(ModelConfig(**SMALL)), "planted.npy")
    payload = torch.load(path, weights_only=True)
    payload["config"]["feature_dim"] = 64  # weights of a 32-d model under a 64-d config
    torch.save(payload, path)
    with pytest.raises(InputError, match="do not fit"):
        load_checkpoint(path)


def test_resume_continues_from_last_epoch_exactly(planted_games, tmp_path: Path) -> None:
    """Two epochs, then a resume to three: the same weights, optimizer state and log as three epochs in
    one go (the weights, Adam's moments and the scheduler come back through the checkpoint loader)."""
    model = ModelConfig(attention=True, **SMALL)  # SMALL has no dropout: nothing random but the sampler's seeded draws
    runs = {}
    for name, stops in (("resumed", (2, 3)), ("straight", (3,))):
        for epochs in stops:
            config = TrainConfig(out=tmp_path / name, epochs=epochs, chunks_per_epoch=64, valid_every=1, device="cpu",
                                 model=model, resume=epochs != stops[0], calibrate=False)
            train(config, planted_games["train"][:1], planted_games["valid"], "planted.npy")
        runs[name] = torch.load(tmp_path / name / "last.pt", weights_only=True)
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [0, 1, 2]
    resumed, straight = runs["resumed"], runs["straight"]
    assert resumed["state_dict"].keys() == straight["state_dict"].keys()
    assert all(torch.equal(resumed["state_dict"][k], straight["state_dict"][k]) for k in straight["state_dict"])
    moments = [(a["exp_avg"], b["exp_avg"]) for a, b in zip(resumed["info"]["optimizer"]["state"].values(),
                                                             straight["info"]["optimizer"]["state"].values())]
    assert moments and all(torch.equal(a, b) for a, b in moments)
    assert resumed["info"]["best"] == straight["info"]["best"]


def test_checkpoints_from_before_pooled_attention_still_load(tmp_path: Path) -> None:
    """A saved config without ``attention_pool`` is the seed's block at frame rate, and gives the
    same outputs after loading as the model that was saved."""
    model = CALF(ModelConfig(attention=True, attention_pool=1, **SMALL)).eval()
    path = save_checkpoint(tmp_path / "old.pt", model, "planted.npy")
    payload = torch.load(path, weights_only=True)
    del payload["config"]["attention_pool"]
    payload["config"]["attention_dim"] = 0  # a key of those days that no longer exists
    torch.save(payload, path)
    loaded = load_checkpoint(path, "cpu")
    assert loaded.config.attention_pool == 1 and loaded.model.attention.qkv.in_features == 152
    x = torch.randn(2, loaded.config.chunk_size + 2 * loaded.config.margin, SMALL["feature_dim"])
    with torch.no_grad():
        for a, b in zip(model(x), loaded.model.eval()(x)):
            torch.testing.assert_close(a, b)


def test_dataloader_workers_train_exactly_as_the_training_process_alone(planted_games, tmp_path: Path) -> None:
    """Batches built by 2 DataLoader workers or in the training process: the same weights, bit for bit."""
    weights = []
    for workers in (0, 2):
        torch.manual_seed(0)
        config = TrainConfig(out=tmp_path / f"w{workers}", epochs=2, batch_size=16, chunks_per_epoch=64, device="cpu",
                             workers=workers, model=ModelConfig(attention=True, **SMALL))
        train(config, planted_games["train"][:2], [], "planted.npy")
        weights.append(torch.load(tmp_path / f"w{workers}" / "last.pt", weights_only=True)["state_dict"])
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
