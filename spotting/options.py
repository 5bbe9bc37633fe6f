"""Options that several commands take, declared once: the same name, help text and default everywhere.

Plain functions that add arguments to an :mod:`argparse` parser; a command calls those it needs.
``HELP`` holds each shared option's meaning, the first words of its help in every command (after
them, a command may say what the option applies to and what its default resolves to);
``tests/test_cli_vocabulary.py`` checks every command against it.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from pathlib import Path

from spotting.errors import InputError
from spotting.selection import SPLIT_HELP

SOCCERNET_DIR_ENV = "SOCCERNET_DIR"  # the app reads the same variable (spotting.ui.sources.default_soccernet_root)

HELP = {
    "--soccernet-dir": "SoccerNet root holding <league>/<season>/<game>/ folders",
    "--split": SPLIT_HELP,
    "--features": "feature file name after 1_/2_ in each game folder (.npy may be left out)",
    "--classes": "class set: soccernet-v2, ball-2023, ball-2024 or a text file with one class a line",
    "--labels-file": "label file name in each game folder",
    "--framerate": "frames per second",
    "--device": "auto (CUDA when available), cpu, cuda, cuda:1, ...",
    "--force": "overwrite what this command writes when it is already there",
    "--threshold": "keep events whose confidence is at least this",
    "--nms-window": "non-maximum suppression window in seconds",
    "--out": "where the result goes",
    "--out-dir": "root under which one result per game is written",
}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; an option whose help does not say its default gets ``(default: X)``, so a
    new option cannot hide its default (``tests/test_cli_vocabulary.py`` checks every command's help)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        # ``is``, not ``in``: a default of 0 equals False and must still be shown.
        if action.option_strings and "default" not in text and not any(action.default is v for v in (None, False)) \
                and action.default != argparse.SUPPRESS:
            text += " (default: %(default)s)"
        return text


def description_of(docstring: str) -> str:
    """A module docstring's first paragraph as ``--help``'s description: whole sentences (not the first line,
    which may stop mid-sentence) and without reST markup (``x``, :mod:`x`), which argparse prints raw."""
    paragraph = " ".join(docstring.strip().split("\n\n")[0].split())
    return re.sub(r":\w+:`~?([^`]+)`", r"\1", paragraph).replace("``", "")


def command_parser(prog: str, description: str, examples: Sequence[str]) -> argparse.ArgumentParser:
    """A parser whose ``--help`` ends with example command lines (kept as written); ``description`` loses
    any reST double backquotes, and each option's help says its default."""
    lines = "\n".join(f"  {example}" for example in examples)
    return argparse.ArgumentParser(prog=prog, description=description.replace("``", ""),
                                   epilog=f"example{'s' if len(examples) > 1 else ''}:\n{lines}",
                                   formatter_class=_HelpFormatter)


def add_soccernet_dir(parser: argparse._ActionsContainer, extra: str = "") -> None:
    """``--soccernet-dir``, defaulting to ``$SOCCERNET_DIR`` as the app does. Not ``required`` for argparse
    (it cannot be inside infer's ``--game-dir`` group): call :func:`require_soccernet_dir` after parsing."""
    default = os.environ.get(SOCCERNET_DIR_ENV) or None
    parser.add_argument("--soccernet-dir", type=Path, default=default, required=False,
                        help=f"{HELP['--soccernet-dir']}{extra} (default: ${SOCCERNET_DIR_ENV}, as the app reads it; "
                             f"{'now ' + default if default else 'unset here'})")


def require_soccernet_dir(args: argparse.Namespace) -> None:
    """An :class:`InputError` (one ``error: ...`` line, exit 2, as the README promises) when neither
    ``--soccernet-dir`` nor ``$SOCCERNET_DIR`` gives a root; not ``parser.error``, whose whole usage block
    buried the one thing to do."""
    if args.soccernet_dir is None:
        raise InputError(None, "--soccernet-dir is required (and $SOCCERNET_DIR is unset)",
                         f"pass --soccernet-dir /path/to/SoccerNet or set {SOCCERNET_DIR_ENV}")


def add_split(parser: argparse.ArgumentParser, name: str = "--split", default: str = "all", role: str = "") -> None:
    """A game-selection option (``--split``, ``--train-split``, ``--valid-split``) in the one vocabulary."""
    parser.add_argument(name, default=default, metavar="SPLIT",
                        help=f"{HELP['--split']}{role} (default: {default or 'none'})")


def features_name(value: str) -> str:
    """``ResNET_TF2_PCA512`` → ``ResNET_TF2_PCA512.npy`` (the name after ``1_``/``2_``)."""
    return value if value.endswith(".npy") else f"{value}.npy"


def add_features(parser: argparse.ArgumentParser, default_text: str, required: bool = False) -> None:
    """``--features NAME`` (``.npy`` added when left out); ``default_text`` says what None resolves to."""
    parser.add_argument("--features", type=features_name, default=None, required=required, metavar="NAME",
                        help=f"{HELP['--features']}" + ("" if required else f" (default: {default_text})"))


def add_task_options(parser: argparse.ArgumentParser, framerate_of: str) -> None:
    """``--classes``, ``--labels-file`` and ``--framerate``: the class set of the data, recognised by default."""
    parser.add_argument("--classes", default=None,
                        help=f"{HELP['--classes']} (default: recognised from the label files)")
    parser.add_argument("--labels-file", default=None,
                        help=f"{HELP['--labels-file']} (default: the class set's, Labels-v2.json or Labels-ball.json)")
    parser.add_argument("--framerate", type=float, default=None,
                        help=f"{HELP['--framerate']} {framerate_of} (default: the class set's, 2 for SoccerNet-v2, "
                             "25 for Ball Action)")


def add_device(parser: argparse.ArgumentParser) -> None:
    """``--device``: ``auto`` by default (CUDA when available)."""
    parser.add_argument("--device", default="auto", help=f"{HELP['--device']} (default: %(default)s)")


def add_force(parser: argparse.ArgumentParser, what: str) -> None:
    """``--force``; without it an existing output is refused (exit 2 naming it)."""
    parser.add_argument("--force", action="store_true",
                        help=f"{HELP['--force']}: {what} (default: refuse, exit 2 naming it)")


def add_postprocess_options(parser: argparse.ArgumentParser, nms_default: str) -> None:
    """``--threshold`` (keep all by default) and ``--nms-window`` (the model's task's by default)."""
    parser.add_argument("--threshold", type=float, default=0.0,
                        help=f"{HELP['--threshold']} (default: %(default)s, keep all)")
    parser.add_argument("--nms-window", type=float, default=None, metavar="SECONDS",
                        help=f"{HELP['--nms-window']} (default: {nms_default})")


def add_out(parser: argparse.ArgumentParser, what: str, required: bool = True) -> None:
    """``--out``: the one file or folder a command writes (``what`` says which)."""
    parser.add_argument("--out", type=Path, default=None, required=required, help=f"{HELP['--out']}: {what}")


def add_out_dir(parser: argparse.ArgumentParser, file_name: str) -> None:
    """``--out-dir``: a root for per-game outputs named ``file_name``."""
    parser.add_argument("--out-dir", type=Path, default=None,
                        help=f"{HELP['--out-dir']}, as OUT/<league>/<season>/<game>/{file_name}")
