"""Which games a command works on: one vocabulary for every command and the app's split picker.

A *split* is one of

- an official SoccerNet split name (``train``, ``valid``, ``test``, ``challenge``): the official list
  of the dataset (SoccerNet or Ball), in its order, games absent from the root named as such;
- ``all``: every game folder under the root that has what the command needs;
- a sub-folder of the root (``england_epl``, ``england_epl/2015-2016``): every game under it;
- a text file listing game folders, one a line, relative to the root; the file's own path is taken from
  the current folder, else from the root (``--soccernet-dir mine --train-split train.txt`` reads
  ``mine/train.txt`` when there is no ``train.txt`` here).

Anything else is an :class:`~spotting.errors.InputError` that lists the choices. Games are always
named relative to the root (``league/season/game``), whichever way they were selected, so that
outputs written per game (``OUT/<game>/results_spotting.json``) keep SoccerNet's layout.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from spotting.errors import InputError
from spotting.soccernet import DEFAULT_FEATURES, HALVES, LABELS_FILE, Game, game_at

OFFICIAL_SPLITS = ("train", "valid", "test", "challenge")
ALL = "all"
LEGACY_ALL = "all folders"  # the app's former name of ``all``, still in links people have shared
SPLIT_HELP = ("which games: an official SoccerNet split (train, valid, test, challenge), 'all' (every game folder "
              "under the root that has what this command needs), a sub-folder of the root, or a text file listing "
              "game folders (one a line, relative to the root; the file itself in the current folder or the root)")
_MAX_CHOICES_SHOWN = 20  # sub-folders named in an unknown-split error (a root may hold hundreds)


def named_choices(names: Sequence[str], limit: int = _MAX_CHOICES_SHOWN) -> str:
    """``names`` joined with commas, the ones past ``limit`` counted ("… and 3 more") rather than
    silently dropped: a reader who misses their league in a cut list thinks it is not there."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" … and {len(names) - limit} more" if len(names) > limit else "")


def official_games(split: str, dataset: str = "SoccerNet") -> list[str]:
    """The official list of ``split`` (``league/season/game`` names, in SoccerNet's order).

    The name is checked here: SoccerNet's ``getListGames`` prints an error and returns ``[]`` for an
    unknown name, and reads ``all`` and ``v1`` as unions of official lists, which is not what ``all``
    means in this project."""
    if split not in OFFICIAL_SPLITS:
        raise InputError(None, f"{split!r} is not an official SoccerNet split", f"use one of {', '.join(OFFICIAL_SPLITS)}")
    from SoccerNet.utils import getListGames

    return list(getListGames(split, dataset=dataset))


def subfolders(root: str | Path) -> list[str]:
    """The root's first-level folders (leagues, in SoccerNet's layout), sorted; ``[]`` for no folder."""
    try:
        return sorted(entry.name for entry in os.scandir(root) if entry.is_dir() and not entry.name.startswith("."))
    except OSError:
        return []


def split_choices(root: str | Path, folders: Sequence[str] | None = None) -> list[str]:
    """What a split may be under ``root``: the official names, ``all`` and its sub-folders (the app's picker)."""
    return [*OFFICIAL_SPLITS, ALL, *(subfolders(root) if folders is None else folders)]


def unknown_split(root: str | Path, split: str, folders: Sequence[str] | None = None) -> InputError:
    """The one error for a split name that is none of the choices, listing them and the two places a
    split file was looked for."""
    folders = subfolders(root) if folders is None else list(folders)
    under = f", a sub-folder of the root ({named_choices(folders)})" if folders else ""
    looked = f"no file {Path(split).absolute()} nor {Path(root) / split}"
    return InputError(root, f"unknown split {split!r} ({looked})",
                      f"use {', '.join(OFFICIAL_SPLITS)}, {ALL}{under}, or a file listing game folders")


def listed_games(path: str | Path) -> list[str]:
    """The game folders a split file lists (one a line, relative to the root; blank lines and ``#`` comments skipped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"split file cannot be read ({type(error).__name__})",
                         "give a text file listing game folders, one a line") from None
    return [line.strip().strip("/") for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def resolve_split(split: str, root: str | Path, dataset: str = "SoccerNet",
                  is_folder: Callable[[str], bool] | None = None,
                  folders: Sequence[str] | None = None) -> tuple[str, list[str]]:
    """``(kind, names)`` of a split: ``("file", listed games)``, ``("all", [])``, ``("folder", [sub-folder])``
    or ``("official", the official list)``. ``is_folder`` and ``folders`` describe the root when it is not a
    folder on disk (a zip); an unknown name is :func:`unknown_split`'s error."""
    is_folder = is_folder or (lambda name: (Path(root) / name).is_dir())
    if split == ALL or split == LEGACY_ALL:
        return "all", []
    if Path(split).is_file():
        return "file", listed_games(split)
    if split and (Path(root) / split).is_file():  # beside the games, as a user reads ``--soccernet-dir mine --split x.txt``
        return "file", listed_games(Path(root) / split)
    if split.strip("/") and ".." not in Path(split).parts and is_folder(split.strip("/")):
        return "folder", [split.strip("/")]
    if split in OFFICIAL_SPLITS:
        return "official", official_games(split, dataset)
    raise unknown_split(root, split, folders)


def _requirement_problem(game: Game, require: str) -> str | None:
    """Why ``game`` does not meet ``require`` (any / features / labels / both); None when it does."""
    lacks = [*game.missing_features()] if require in ("features", "both") else []
    if require in ("labels", "both") and not game.has_labels:
        lacks.append(game.labels_file)
    if require == "any" and not (game.has_labels or game.has_features()):
        lacks = [game.labels_file, *game.missing_features()]
    return f"no {' and no '.join(lacks)}" if lacks else None


def _walk(top: Path, markers: set[str]) -> list[Path]:
    """Every folder under ``top`` holding one of ``markers``, sorted. Symbolic links to game folders are
    followed (a root assembled from links must select the same games with ``all`` as with a split name);
    each real folder is visited once, so a link cycle ends."""
    seen: set[str] = set()
    found = []
    for directory, dirs, files in os.walk(top, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        if markers & set(files):
            found.append(Path(directory))
    return sorted(found)


def find_games(root: str | Path, split: str | None = None, features: str = DEFAULT_FEATURES,
               require: str = "any", labels_file: str = LABELS_FILE, dataset: str = "SoccerNet",
               skipped: list[tuple[str, str]] | None = None) -> list[Game]:
    """The games of ``split`` under ``root`` (None: ``all``) that meet ``require`` (``"any"``,
    ``"features"``, ``"labels"`` or ``"both"``), named relative to the root; ``[]`` when none does.

    A game folder is one holding ``labels_file`` or ``1_/2_<features>``. Each game of the split left out is
    appended to ``skipped`` (when given) as ``(name, reason)``: "not found" for a listed game absent from
    the root, "no 2_<features>" and the like for one lacking a required file."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(root, "SoccerNet folder not found", "set --soccernet-dir (or SOCCERNET_DIR) to your data root")
    kind, names = resolve_split(ALL if split is None else split, root, dataset)
    if kind in ("file", "official"):
        candidates = [root / name for name in names]
    else:
        markers = {labels_file, *(f"{h}_{features}" for h in HALVES)}
        candidates = _walk(root / names[0] if kind == "folder" else root, markers)
    games = []
    for directory in candidates:
        name = os.path.relpath(directory, root).replace(os.sep, "/")
        if not directory.is_dir():
            if skipped is not None:
                skipped.append((name, "not found"))
            continue
        found = game_at(directory, root, features, labels_file)
        game = Game(directory, found.name, features, split, found.files, labels_file)
        problem = _requirement_problem(game, require)
        if problem is None:
            games.append(game)
        elif skipped is not None:
            skipped.append((game.name, problem))
    return games


def select_games(root: str | Path, split: str, features: str = DEFAULT_FEATURES, require: str = "both",
                 labels_file: str = LABELS_FILE, dataset: str = "SoccerNet",
                 skipped: list[tuple[str, str]] | None = None) -> list[Game]:
    """:func:`find_games` for a command: an empty ``split`` selects nothing (``--valid-split ''``), and a
    split that selects no game is an :class:`InputError` saying what each game needed."""
    if not split:
        return []
    games = find_games(root, split, features, require, labels_file, dataset, skipped)
    if not games:
        needs = {"both": f"both {labels_file} and 1_/2_{features}", "features": f"1_/2_{features}",
                 "labels": labels_file, "any": f"{labels_file} or 1_/2_{features}"}[require]
        raise InputError(root, f"no game of split {split!r} has {needs}", "check --soccernet-dir, --features and the split")
    return games
