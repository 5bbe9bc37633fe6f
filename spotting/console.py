"""Console scripts of the installed package (``pyproject.toml``): ``spotting-train`` … ``spotting-synth``.

Each runs its module's command exactly as ``python -m spotting.<module>`` does (bad input → exit 2
with one line); the module is imported only when its script runs, so each starts as fast as its own
imports allow.
"""

from __future__ import annotations


def train() -> int:
    """``spotting-train`` = ``python -m spotting.train`` (also under ``torchrun``)."""
    from spotting.train import cli

    return cli()


def infer() -> int:
    """``spotting-infer`` = ``python -m spotting.infer``."""
    from spotting.infer import cli

    return cli()


def calibrate() -> int:
    """``spotting-calibrate`` = ``python -m spotting.calibration``."""
    from spotting.calibration import cli

    return cli()


def evaluate() -> int:
    """``spotting-evaluate`` = ``python -m spotting.evaluate``."""
    from spotting.evaluate import cli

    return cli()


def synth() -> int:
    """``spotting-synth`` = ``python -m spotting.synth``."""
    from spotting.cli import run_cli
    from spotting.synth.__main__ import main

    return run_cli(main)
