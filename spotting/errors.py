"""One exception type for everything a user can get wrong.

Its message always names the offending file and says how to fix it, so the CLI can print it as
one line (exit status 2) and the app can show it in an ``st.error`` without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad user input: a missing/corrupt file, a wrong shape, an unknown label, ..."""

    def __init__(self, path: str | Path | None, problem: str, fix: str = "") -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        self.fix = fix
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}" + (f" — {fix}" if fix else ""))
