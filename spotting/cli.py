"""Shared command-line plumbing: bad input → one clear line on stderr and exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable

from spotting.errors import InputError


def run_cli(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run ``main`` and turn an :class:`InputError` (or a missing file) into exit status 2."""
    try:
        return main(argv)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"error: {error.filename}: file not found — check the path", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
