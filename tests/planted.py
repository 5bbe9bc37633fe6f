"""Synthetic halves with planted event signatures, for learning and inference tests."""

from __future__ import annotations

import numpy as np

from spotting.soccernet import Annotations

PLANTED_CLASSES = tuple(range(17))


def planted_game(rng: np.random.Generator, num_frames: int = 1200, dim: int = 32, events_per_half: int = 30,
                 framerate: float = 2.0) -> tuple[dict[int, np.ndarray], Annotations]:
    """Two halves of noise features with each event's class signature added over 4 frames from its frame."""
    signatures = np.random.default_rng(99).standard_normal((17, dim)) * 1.5  # the same in every game
    features, parts = {}, []
    for half in (1, 2):
        x = rng.standard_normal((num_frames, dim)).astype(np.float32)
        frames = np.sort(rng.choice(np.arange(20, num_frames - 20, 20), events_per_half, replace=False))
        classes = rng.choice(PLANTED_CLASSES, events_per_half)
        for f, c in zip(frames, classes):
            x[f: f + 4] += signatures[c]
        features[half] = x
        n = len(frames)
        parts.append(Annotations.from_lists(np.full(n, half), np.round(frames * 1000 / framerate) + 100, classes,
                                            np.ones(n, bool), ["home"] * n, np.ones(n)))
    return features, Annotations.concatenate(parts)
