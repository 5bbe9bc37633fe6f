"""Shared command-line plumbing: exit statuses and the summary line every long command ends with.

Exit status 0: done; 2: bad input, as one line on stderr naming the file and the fix (an
:class:`InputError`, a missing file, or argparse's own usage errors); 1: an internal error, whose
traceback Python prints (nothing here catches it).
"""

from __future__ import annotations

import sys
import time
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


def plural(count: int, noun: str) -> str:
    """``1 game``, ``3 games``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary_line(command: str, read: str, written: str, seconds: float) -> str:
    """``infer: 100 games read from D (split test); 100 results_spotting.json written under OUT in 42.1 s``."""
    return f"{command}: {read}; {written} in {seconds:.1f} s"


def print_summary(command: str, read: str, written: str, started: float) -> None:
    """The last line of a long command, on stderr (stdout stays the command's data: a table, JSON);
    ``started`` is the command's ``time.perf_counter()`` at its start."""
    print(summary_line(command, read, written, time.perf_counter() - started), file=sys.stderr)
