"""Console scripts of the installed package (``pyproject.toml``): ``spotting-train`` … ``spotting-features``.

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
    from spotting.synth.__main__ import cli

    return cli()


def features() -> int:
    """``spotting-features`` = ``python -m spotting.features`` (and its fit-pca, apply-pca, convert-pca)."""
    from spotting.features.__main__ import cli

    return cli()
