"""CUDA gives the CPU's results (runs where a GPU is present; CI has none, so these skip there).

The FFT pyramid and training are checked on CUDA too, by their own tests' ``cuda`` parameter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spotting.checkpoint import load_checkpoint
from spotting.demo import DEMO_CHECKPOINT, DEMO_FEATURES, DEMO_GAME_DIR
from spotting.infer import infer_game
from spotting.postprocess import Refinement, SpottingConfig, spot_events
from spotting.soccernet import load_features

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_demo_game_on_cuda_gives_the_cpu_events() -> None:
    features = {h: load_features(DEMO_GAME_DIR / f"{h}_{DEMO_FEATURES}", dim=512) for h in (1, 2)}
    on = {device: load_checkpoint(DEMO_CHECKPOINT, device) for device in ("cpu", "cuda")}
    scores = {device: infer_game(loaded, features) for device, loaded in on.items()}
    assert scores["cuda"].device.startswith("cuda")
    for half in (1, 2):  # cuDNN may use TF32 for convolutions: close, not equal
        np.testing.assert_allclose(scores["cuda"].halves[half].segmentation, scores["cpu"].halves[half].segmentation,
                                   atol=5e-3)
    config = SpottingConfig(refinement=Refinement.from_checkpoint_info(on["cpu"].info))
    events = {device: spot_events(s, config) for device, s in scores.items()}
    key = {device: set(zip(e.half.tolist(), e.position_ms.tolist(), e.class_index.tolist())) for device, e in events.items()}
    shared = len(key["cpu"] & key["cuda"])
    assert shared >= 0.97 * len(key["cpu"]), (shared, len(key["cpu"]), len(key["cuda"]))
