"""Frame encoder: video frames -> 512-d features, deterministic and without any downloaded weights.

Stands in for SoccerNet's ResNet-152 + PCA 512 features. Each frame becomes a hand-made descriptor:
a 32x18 colour thumbnail (layout), colour histograms in a 2x2 grid (what is on screen), and
gradient-orientation histograms in a 4x4 grid (lines and shapes); the descriptor is projected to
512 dimensions by a fixed-seed Gaussian matrix (distances are kept, Johnson-Lindenstrauss) and
scaled to about unit variance with constants measured once on synthetic games.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from spotting.errors import InputError

FEATURE_DIM = 512
PROJECTION_SEED = 20261127
THUMB_W, THUMB_H = 32, 18
GRID_W, GRID_H = 64, 36  # resolution of the histogram and gradient blocks
COLOUR_LEVELS = 4  # per channel -> 64 colour bins
ORIENTATIONS = 8
# Block weights: each block contributes a comparable share of the descriptor's energy.
THUMB_WEIGHT, COLOUR_WEIGHT, GRADIENT_WEIGHT = 1.0, 4.0, 0.15
OUTPUT_SCALE = 4.6  # brings the projected features to ~unit standard deviation (measured on synthetic games)


@lru_cache(maxsize=2)
def projection(input_dim: int, seed: int = PROJECTION_SEED) -> np.ndarray:
    """(input_dim, 512) float64 Gaussian projection, identical on every machine for a given seed."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((input_dim, FEATURE_DIM)) / np.sqrt(input_dim)


def _cell_histograms(codes: np.ndarray, cells: np.ndarray, n_cells: int, n_bins: int,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """(B, n_cells * n_bins) histograms of integer ``codes`` (B, P) per cell (P,) in one bincount."""
    b = codes.shape[0]
    index = (np.arange(b)[:, None] * n_cells + cells[None, :]) * n_bins + codes
    counts = np.bincount(index.ravel(), weights=None if weights is None else weights.ravel(),
                         minlength=b * n_cells * n_bins)
    return counts.reshape(b, n_cells * n_bins)


def _cells(grid_h: int, grid_w: int, rows: int, cols: int) -> np.ndarray:
    ys, xs = np.mgrid[0:grid_h, 0:grid_w]
    return ((ys * rows // grid_h) * cols + xs * cols // grid_w).ravel()


def describe(frames: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 BGR frames -> (B, D) float32 hand-made descriptors (D = 2112)."""
    b, h, w = frames.shape[:3]
    # Centre crop to 6x the grid (216x384 of 224x398): OpenCV's area resize has a fast integer path.
    y0, x0 = (h - 6 * GRID_H) // 2, (w - 6 * GRID_W) // 2
    grid = np.stack([cv2.resize(f[y0:y0 + 6 * GRID_H, x0:x0 + 6 * GRID_W], (GRID_W, GRID_H),
                                interpolation=cv2.INTER_AREA) for f in frames])  # (B, 36, 64, 3)
    thumbs = grid.reshape(b, THUMB_H, 2, THUMB_W, 2, 3).mean(axis=(2, 4), dtype=np.float32)  # (B, 18, 32, 3)
    thumb_part = (thumbs.reshape(b, -1) / 255.0 - 0.5) * THUMB_WEIGHT  # (B, 1728)

    levels = (grid // (256 // COLOUR_LEVELS)).astype(np.int64)  # (B, 36, 64, 3)
    codes = (levels[..., 0] * COLOUR_LEVELS + levels[..., 1]) * COLOUR_LEVELS + levels[..., 2]
    colour_cells = _cells(GRID_H, GRID_W, 2, 2)
    colour = _cell_histograms(codes.reshape(b, -1), colour_cells, 4, COLOUR_LEVELS ** 3)
    colour_part = (colour / (GRID_H * GRID_W / 4) - 1.0 / COLOUR_LEVELS ** 3) * COLOUR_WEIGHT  # (B, 256)

    gray = grid.astype(np.float32).mean(axis=3)  # (B, 36, 64)
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, :, 1:-1] = gray[:, :, 2:] - gray[:, :, :-2]
    gy[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
    magnitude = np.hypot(gx, gy)
    orientation = ((np.arctan2(gy, gx) % np.pi) / np.pi * ORIENTATIONS).astype(np.int64) % ORIENTATIONS
    gradient = _cell_histograms(orientation.reshape(b, -1), _cells(GRID_H, GRID_W, 4, 4), 16, ORIENTATIONS,
                                magnitude.reshape(b, -1))
    gradient_part = (gradient / (GRID_H * GRID_W / 16) / 64.0 - 0.1) * GRADIENT_WEIGHT * 8  # (B, 128)
    return np.concatenate([thumb_part, colour_part.astype(np.float32), gradient_part.astype(np.float32)], axis=1)


def encode_frames(frames: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) uint8 BGR frames -> (B, 512) float32 features."""
    descriptor = describe(frames).astype(np.float64)
    # float64: BLAS sums in a thread-count-dependent order; at this precision the float16 features
    # written to disk come out bit-identical whatever the threads (the determinism tests rely on it)
    return (descriptor @ projection(descriptor.shape[1]) * OUTPUT_SCALE).astype(np.float32)


def features_from_video(path: str | Path, framerate: float = 2.0, batch: int = 128) -> np.ndarray:
    """(T, 512) float16 features of a video file at ``framerate`` (T = floor(duration * framerate)).

    Decodes the video (any size: frames are resized to 398x224 first) and encodes the frame
    nearest to each sampling time; on a synthetic game's .webm this gives features close to the
    stored ones (those were computed from the frames before compression).
    """
    path = Path(path)
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if not capture.isOpened() or fps <= 0 or count <= 0:
        capture.release()
        raise InputError(path, "cannot read this video", "check the file plays, or regenerate it")
    n_out = int(np.floor(count / fps * framerate))
    wanted = np.minimum(np.round(np.arange(n_out) / framerate * fps).astype(np.int64), count - 1)  # (T,)
    features, pending, index, ok = [], [], 0, True
    for target in wanted:
        while index <= target:
            ok, frame = capture.read()
            if not ok:
                break
            index += 1
        if not ok:
            break
        if frame.shape[:2] != (224, 398):
            frame = cv2.resize(frame, (398, 224), interpolation=cv2.INTER_AREA)
        pending.append(frame)
        if len(pending) == batch:
            features.append(encode_frames(np.stack(pending)))
            pending = []
    capture.release()
    if pending:
        features.append(encode_frames(np.stack(pending)))
    if not features:
        raise InputError(path, "no frame could be decoded", "check the file plays, or regenerate it")
    return np.concatenate(features).astype(np.float16)
