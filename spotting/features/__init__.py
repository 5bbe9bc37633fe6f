"""Features from your own video: frames at 2 fps as SoccerNet reads them → backbone → (PCA) → ``<half>_<name>.npy``.

``python -m spotting.features --video V --out GAME_DIR --half 1`` (see ``__main__``). From Python::

    from spotting.features import extract_half
    extract_half("match.mp4", "games/my-match", half=2, split_at=2950.0,
                 extractor="ResNET_TF2_PCA512", pca="pca_512_TF2.pkl", pca_mean="average_512_TF2.pkl")

Modules: ``frames`` (SoccerNet's FrameCV rules, streamed), ``extractors`` (Keras ResNet152 — SoccerNet's
recipe — and EfficientNet-Lite0, both imported lazily), ``pca`` (SoccerNet's mean + PCA, pickles read
without running code, PCAs fitted on your games), ``extract`` (batches, resume, atomic output).
Nothing here imports Keras or the EfficientNet wheels until a backbone is built.
"""

from spotting.features.extract import ExtractionResult, Plan, extract_half, half_range, output_name, plan, run
from spotting.features.extractors import BACKBONES, DEFAULT_EXTRACTOR, available, build_backbone, parse_extractor
from spotting.features.frames import VideoInfo, probe, read_frames
from spotting.features.pca import Projection, fit_projection, load_projection

__all__ = ["BACKBONES", "DEFAULT_EXTRACTOR", "ExtractionResult", "Plan", "Projection", "VideoInfo", "available",
           "build_backbone", "extract_half", "fit_projection", "half_range", "load_projection", "output_name",
           "parse_extractor", "plan", "probe", "read_frames", "run"]
