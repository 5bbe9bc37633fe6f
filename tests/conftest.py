"""Shared fixtures: the real SoccerNet material beside the checkout, and small games on disk."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/planted.py

torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (real labels of 200 games, NetVLAD predictions); skip where absent."""
    if not (SHARED_DATA / "soccernet").is_dir():
        pytest.skip("../shared/data (real SoccerNet labels) is not beside this checkout")
    return SHARED_DATA
