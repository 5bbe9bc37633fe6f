"""Checkpoints that rebuild themselves: weights + the plain config dict, loaded with ``weights_only=True``."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from spotting import __version__
from spotting.errors import InputError
from spotting.model import CALF, ModelConfig
from spotting.specs import Specifications

FORMAT = "action-spotting-studio/checkpoint-1"


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` → CUDA when available, else CPU. Nothing forces CUDA."""
    if device in ("auto", "", None):
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(None, f"device {device!r} requested but CUDA is not available", "use --device cpu or auto")
    return torch.device(device)


@dataclass
class LoadedModel:
    model: CALF
    config: ModelConfig
    device: torch.device
    features: str  # feature file name the model was trained on, e.g. "ResNET_TF2_PCA512.npy"
    info: dict  # epoch, metrics, library version, ...

    @property
    def feature_dim(self) -> int:
        return self.config.feature_dim

    @property
    def framerate(self) -> float:
        """The model's feature rate (frames per second of the features it takes)."""
        return self.config.framerate

    @property
    def spec(self) -> Specifications:
        """Its task: class names (the order of its outputs), label file, evaluation frame rate.
        A checkpoint saved before these were is SoccerNet-v2 (17 classes)."""
        return self.config.spec


def save_checkpoint(path: str | Path, model: CALF, features: str, **info: object) -> Path:
    """Write atomically (a crash never leaves half a checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "library_version": __version__,
        "config": model.config.to_dict(),
        "features": features,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "info": info,
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".ckpt-", suffix=".pt")
    os.close(fd)
    torch.save(payload, tmp)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; a results file or checkpoint is meant to be shared
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, device: str = "auto") -> LoadedModel:
    """Rebuild the model from a checkpoint; :class:`InputError` when the file does not fit."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "checkpoint not found", "check the path or train one with python -m spotting.train")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # pickle/zip errors come in many types
        raise InputError(path, f"not a readable PyTorch checkpoint ({type(error).__name__})",
                         "the file is corrupt or not a checkpoint of this project") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(path, "not an Action Spotting Studio checkpoint (no config inside)",
                         "train one with python -m spotting.train, or load its results_spotting.json instead")
    known = {f.name for f in fields(ModelConfig)}
    saved = dict(payload["config"])
    saved.setdefault("attention_pool", 1)  # checkpoints from before pooled attention: frame rate
    try:
        config = ModelConfig(**{k: v for k, v in saved.items() if k in known})
    except (TypeError, ValueError) as error:
        raise InputError(path, f"its config cannot be read ({str(error)[:160]})",
                         "the checkpoint is damaged or from another version of this project") from None
    model = CALF(config)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        first = str(error).splitlines()[1].strip() if len(str(error).splitlines()) > 1 else str(error)
        raise InputError(path, f"weights do not fit the model in its config ({first[:160]})",
                         "the checkpoint is damaged or from another model version") from None
    target = resolve_device(device)
    model.to(target).eval()
    return LoadedModel(model, config, target, str(payload.get("features", "")), dict(payload.get("info", {})))
