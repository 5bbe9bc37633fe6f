"""SoccerNet-layout trees — a folder or a zip of ``<league>/<season>/<game>/<file>`` — and what they hold.

SoccerNet's ``evaluate()`` reads labels and predictions from either (its baselines zip their
``results_spotting.json`` files for evaluation and EvalAI). :class:`Tree` gives both one reading
interface; a zip is never extracted: members are read one at a time, each size-capped like any JSON
file (:data:`spotting.soccernet.MAX_JSON_BYTES`). A zip whose members sit under one extra top folder
(``results/<league>/...``, as zipping the folder itself gives) is read as well.

:func:`detect_specifications` recognises a tree's class set (SoccerNet-v2, Ball Action 2023/2024)
from the label names in its label files.
"""

from __future__ import annotations

import os
import threading
import zipfile
from collections import Counter
from pathlib import Path

from spotting.errors import InputError
from spotting.soccernet import MAX_JSON_BYTES, parse_json_bytes, read_json
from spotting.specs import SOCCERNET_V2, Specifications, recognise, resolve

LABEL_FILE_NAMES = ("Labels-v2.json", "Labels-ball.json")  # looked for first, in this order


class Tree:
    """Files under a folder or inside a zip, addressed by ``"<game>/<file>"`` paths (``/``-separated)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.is_zip = self.path.is_file() and zipfile.is_zipfile(self.path)
        self._lock = threading.Lock()
        self._members: dict[str, zipfile.ZipInfo] = {}
        if self.is_zip:
            try:
                with zipfile.ZipFile(self.path) as archive:
                    infos = archive.infolist()
            except (zipfile.BadZipFile, OSError) as error:
                raise InputError(self.path, f"not a readable zip ({error})", "re-create or re-download the zip") from None
            for info in infos:
                name = info.filename.replace("\\", "/").lstrip("/")
                name = name[2:] if name.startswith("./") else name
                if not info.is_dir():
                    self._members[name] = info
            tops = {n.split("/", 1)[0] for n in self._members if "/" in n}
            self._prefixes = sorted(tops)

    def where(self, relative: str) -> str:
        """How messages name a file: ``folder/<game>/<file>`` or ``archive.zip:<game>/<file>``."""
        if self.is_zip:
            return f"{self.path}:{self._member_name(relative) or relative}"
        return str(self.path / relative)

    def _member_name(self, relative: str) -> str | None:
        if relative in self._members:
            return relative
        found = [f"{top}/{relative}" for top in self._prefixes if f"{top}/{relative}" in self._members]
        return found[0] if len(found) == 1 else None

    def has(self, relative: str) -> bool:
        """The file is there (a regular file of the folder, or a member of the zip)."""
        if self.is_zip:
            return self._member_name(relative) is not None
        return (self.path / relative).is_file()

    def read_json(self, relative: str) -> dict:
        """A JSON file of the tree, with :func:`spotting.soccernet.read_json`'s checks; :class:`InputError`
        naming the file (``where``) when it is missing, too large or malformed."""
        if not self.is_zip:
            return read_json(self.path / relative)
        member = self._member_name(relative)
        if member is None:
            raise InputError(self.where(relative), "file not found in the zip",
                             "the zip must hold <league>/<season>/<game>/<file>, as SoccerNet's evaluate() reads it")
        info = self._members[member]
        if info.file_size > MAX_JSON_BYTES:
            raise InputError(self.where(relative), f"{info.file_size / 2**20:,.0f} MB unpacked, over the "
                             f"{MAX_JSON_BYTES // 2**20} MB limit for a JSON file", "check the zip")
        try:
            with self._lock, zipfile.ZipFile(self.path) as archive, archive.open(info) as handle:
                data = handle.read(MAX_JSON_BYTES + 1)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as error:
            raise InputError(self.where(relative), f"cannot be read from the zip ({type(error).__name__})",
                             "re-create or re-download the zip") from None
        return parse_json_bytes(data, self.where(relative))

    def games_with(self, file_name: str) -> list[str]:
        """Sorted ``<game>`` paths (relative, ``/``-separated) of every folder holding ``file_name``."""
        if self.is_zip:
            games = {n.rsplit("/", 1)[0] for n in self._members if n.rsplit("/", 1)[-1] == file_name and "/" in n}
            if games and len(self._prefixes) == 1 and all(g.startswith(self._prefixes[0] + "/") for g in games):
                top = self._prefixes[0]
                deeper = {g[len(top) + 1:] for g in games}
                if all(len(g.split("/")) >= 3 for g in deeper):  # <top>/<league>/<season>/<game>
                    games = deeper
            return sorted(games)
        found = []
        for directory, _, files in os.walk(self.path):
            if file_name in files:
                found.append(os.path.relpath(directory, self.path).replace(os.sep, "/"))
        return sorted(found)

    def file_names(self, prefix: str = "Labels", suffix: str = ".json", limit: int = 10_000) -> Counter:
        """How many games hold each file named ``prefix*suffix`` (e.g. the label files present)."""
        names: Counter = Counter()
        if self.is_zip:
            for member in self._members:
                base = member.rsplit("/", 1)[-1]
                if base.startswith(prefix) and base.endswith(suffix):
                    names[base] += 1
            return names
        for seen, (_, _, files) in enumerate(os.walk(self.path)):
            names.update(f for f in files if f.startswith(prefix) and f.endswith(suffix))
            if seen >= limit:
                break
        return names


def open_tree(path: str | Path, what: str = "predictions", flag: str | None = None) -> Tree:
    """A folder or a zip in SoccerNet's layout; :class:`InputError` when ``path`` is neither.

    ``flag`` (``--predictions-dir``) is the command-line option the fix names; None (the app, other
    callers) words it without one: a flag means nothing to someone who typed the path in a form."""
    path = Path(path)
    if path.is_dir() or (path.is_file() and zipfile.is_zipfile(path)):
        return Tree(path)
    if path.is_file():
        give = f"pass {flag}" if flag else "give"
        raise InputError(path, f"not a {what} folder, nor a zip file",
                         f"{give} a folder or a zip of <league>/<season>/<game>/ files")
    raise InputError(path, f"{what} folder not found",
                     f"check {flag} (a folder or a zip)" if flag else f"check the path: a {what} folder or its zip")


def label_names(tree: Tree, labels_file: str, max_games: int = 3) -> Counter:
    """Label names (with counts) in the first ``max_games`` games' ``labels_file``; unreadable files skipped."""
    names: Counter = Counter()
    for game in tree.games_with(labels_file)[:max_games]:
        try:
            data = tree.read_json(f"{game}/{labels_file}")
        except InputError:
            continue
        items = data.get("annotations") if isinstance(data, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and isinstance(item.get("label"), str):
                names[item["label"]] += 1
    return names


def detect_specifications(tree: Tree, labels_file: str | None = None,
                          default: Specifications = SOCCERNET_V2) -> tuple[Specifications, str]:
    """The class set of a tree's label files and how it was found: ``(spec, reason)``.

    The label file is ``labels_file`` when given, else the first of ``Labels-v2.json``,
    ``Labels-ball.json`` or any other ``Labels*.json`` present. Its label names (in up to 3 games)
    are matched against the built-in sets (:func:`spotting.specs.recognise`). Without label files,
    ``default``; label names no built-in set holds raise :class:`InputError` (pass ``--classes``).
    """
    present = tree.file_names()
    if labels_file is None:
        labels_file = next((n for n in LABEL_FILE_NAMES if present[n]), None)
        if labels_file is None:
            labels_file = present.most_common(1)[0][0] if present else None
    if labels_file is None or not present[labels_file]:
        return default.replace(labels_file=labels_file), f"no {labels_file or 'Labels*.json'} found: {default.name}"
    names = label_names(tree, labels_file)
    spec = recognise(names, labels_file)
    if spec is None:
        if not names:
            return default.replace(labels_file=labels_file), f"no labels in {labels_file}: {default.name}"
        unknown = ", ".join(repr(n) for n, _ in names.most_common(6))
        raise InputError(tree.path, f"the labels of {labels_file} ({unknown}) are not those of a built-in class set",
                         "pass --classes FILE with one class a line (or soccernet-v2, ball-2023, ball-2024)")
    return spec, f"recognised from its {labels_file} labels"


def data_specifications(root: str | Path, classes: str | None = None, labels_file: str | None = None,
                        framerate: float | None = None, flag: str = "--soccernet-dir") -> tuple[Specifications, str]:
    """The class set a command works with and why: ``classes`` (a built-in name or a class-list file,
    as ``--classes``) when given, else the one recognised in the label files under ``root`` (folder or
    zip, :func:`detect_specifications`); ``labels_file`` / ``framerate`` (the evaluation grid's)
    override it. Raises :class:`InputError` naming what is wrong."""
    tree = open_tree(root, "SoccerNet", flag)
    if classes:
        return resolve(classes, labels_file, framerate), f"--classes {classes}"
    spec, reason = detect_specifications(tree, labels_file)
    return spec.replace(framerate=framerate), reason
