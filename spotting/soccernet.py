"""SoccerNet data: label files of any class set, per-half features and game folders.

Names follow the official package (``EVENT_DICTIONARY_V2``, ``Labels-v2.json``, ``Labels-ball.json``,
``gameTime`` "H - MM:SS", ``position`` in milliseconds) so users recognise them. The class set and the
label file name come from a :class:`~spotting.specs.Specifications`; SoccerNet-v2's are the defaults
(``CLASSES``, ``LABELS_FILE`` below are its names, kept for callers that mean SoccerNet-v2).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spotting.errors import InputError
from spotting.specs import SOCCERNET_V2, Specifications

# SoccerNet-v2's set (the default everywhere a set is not given).
CLASSES: tuple[str, ...] = SOCCERNET_V2.classes
NUM_CLASSES = SOCCERNET_V2.num_classes
CLASS_INDEX: dict[str, int] = dict(SOCCERNET_V2.class_index)
HALVES = (1, 2)
LABELS_FILE = SOCCERNET_V2.labels_file
DEFAULT_FEATURES = "ResNET_TF2_PCA512.npy"
VIDEO_NAMES = ("224p.mkv", "720p.mkv", "224p.mp4", "720p.mp4", "224p.webm", "video.webm", "video.mp4")


@dataclass(frozen=True)
class Annotations:
    """Events of one game (labels or predictions) as parallel arrays of length N."""

    half: np.ndarray  # (N,) int64, 1 or 2
    position_ms: np.ndarray  # (N,) int64, milliseconds within the half
    class_index: np.ndarray  # (N,) int64, index into CLASSES
    visible: np.ndarray  # (N,) bool, False for "not shown"
    team: np.ndarray  # (N,) str: "home" | "away" | "not applicable" | ""
    confidence: np.ndarray  # (N,) float64; 1.0 for ground truth

    def __len__(self) -> int:
        return int(self.half.shape[0])

    def select(self, mask: np.ndarray) -> Annotations:
        return Annotations(*(getattr(self, name)[mask] for name in _FIELDS))

    def for_half(self, half: int) -> Annotations:
        return self.select(self.half == half)

    def frames(self, framerate: float) -> np.ndarray:
        """Frame index of each event, computed exactly as SoccerNet's evaluator does: ``int()`` of
        ``framerate * position_s``, truncated toward zero (a position of -400 ms is frame 0)."""
        return np.trunc(framerate * (self.position_ms / 1000)).astype(np.int64)

    @staticmethod
    def empty() -> Annotations:
        return Annotations.from_lists([], [], [], [], [], [])

    @staticmethod
    def from_lists(half, position_ms, class_index, visible, team, confidence) -> Annotations:
        return Annotations(
            half=np.asarray(half, dtype=np.int64).reshape(-1),
            position_ms=np.asarray(position_ms, dtype=np.int64).reshape(-1),
            class_index=np.asarray(class_index, dtype=np.int64).reshape(-1),
            visible=np.asarray(visible, dtype=bool).reshape(-1),
            team=np.asarray(team, dtype=str).reshape(-1) if len(team) else np.zeros(0, dtype="<U1"),
            confidence=np.asarray(confidence, dtype=np.float64).reshape(-1),
        )

    @staticmethod
    def concatenate(parts: list[Annotations]) -> Annotations:
        if not parts:
            return Annotations.empty()
        return Annotations(*(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS))


_FIELDS = ("half", "position_ms", "class_index", "visible", "team", "confidence")


def format_game_time(half: int, position_ms: int) -> str:
    """``"1 - 05:23"``, the official ``gameTime`` string."""
    seconds = int(position_ms) // 1000
    return f"{int(half)} - {seconds // 60:02d}:{seconds % 60:02d}"


_GAME_FOLDER = re.compile(r"(\d{4}-\d{2}-\d{2}) - \d{2}-\d{2} (.+)")


def game_title(name: str) -> str:
    """``"Manchester United 1 - 1 Arsenal (2015-05-17)"`` from SoccerNet's game folder name
    ``"<league>/<season>/2015-05-17 - 18-00 Manchester United 1 - 1 Arsenal"``: home team, score and away
    team kept whole (the score itself holds " - "), date after; other folder names as they are."""
    folder = name.rstrip("/").split("/")[-1]
    match = _GAME_FOLDER.fullmatch(folder)
    return f"{match.group(2)} ({match.group(1)})" if match else folder


def league_and_season(name: str) -> tuple[str, str]:
    """``("england_epl", "2015-2016")`` from ``"england_epl/2015-2016/<game>"``; ``("", "")`` for other layouts."""
    parts = name.strip("/").split("/")
    return (parts[-3], parts[-2]) if len(parts) >= 3 else ("", "")


def _half_of(game_time: object, path: Path, index: int) -> int:
    text = str(game_time)
    head = text.split(" - ")[0].strip() if " - " in text else text[:1]
    if head not in ("1", "2"):
        raise InputError(path, f"annotation {index}: gameTime {text[:40]!r} is not 'H - MM:SS' with H = 1 or 2",
                         "fix or remove that annotation")
    return int(head)


def class_set(classes: Specifications | Sequence[str] | None) -> Specifications:
    """``classes`` as :class:`~spotting.specs.Specifications` (None: SoccerNet-v2; a list: a custom set)."""
    if classes is None:
        return SOCCERNET_V2
    if isinstance(classes, Specifications):
        return classes
    return SOCCERNET_V2.replace(classes=tuple(classes))


def unknown_label_fix(spec: Specifications) -> str:
    """The fix of an unknown label: the set's classes, and how to pick another set."""
    names = ", ".join(spec.classes[:20]) + (", ..." if spec.num_classes > 20 else "")
    return (f"use one of the classes of {spec.describe()}: {names} — or pick the data's class "
            "set (--classes soccernet-v2 | ball-2023 | ball-2024 | a file with one class a line)")


def parse_labels(data: dict, path: str | Path = LABELS_FILE, unknown: str = "error",
                 classes: Specifications | Sequence[str] | None = None, skipped: Counter | None = None) -> Annotations:
    """Turn a parsed label file (``Labels-v2.json``, ``Labels-ball.json``, ...) into :class:`Annotations`.

    ``classes`` is the class set (default SoccerNet-v2's 17); ``class_index`` indexes it.
    ``unknown="error"`` rejects labels outside it; ``"skip"`` drops them, as SoccerNet's evaluator
    does, counting each dropped name in ``skipped`` when given.
    """
    path = Path(path)
    spec = class_set(classes)
    index = spec.class_index
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise InputError(path, "no 'annotations' list", f"expected a SoccerNet label file ({spec.labels_file})")
    half, pos, cls, vis, team = [], [], [], [], []
    for i, item in enumerate(data["annotations"]):
        if not isinstance(item, dict) or "label" not in item or "gameTime" not in item:
            raise InputError(path, f"annotation {i} lacks 'label' or 'gameTime'", "fix or remove that annotation")
        label = item["label"]
        if not isinstance(label, str):  # a list or a number: SoccerNet's evaluator fails on it too
            raise InputError(path, f"annotation {i}: label is a {type(label).__name__}, not a class name",
                             "fix or remove that annotation")
        if label not in index:
            if unknown == "skip":
                if skipped is not None:
                    skipped[label[:60]] += 1
                continue
            raise InputError(path, f"annotation {i}: unknown label {label[:60]!r}", unknown_label_fix(spec))
        h = _half_of(item["gameTime"], path, i)
        try:
            if "position" in item:
                ms = int(float(item["position"]))
            else:  # second precision only, as in SoccerNet-v1 files
                minutes, seconds = str(item["gameTime"]).split(" - ")[1].split(":")
                ms = (int(minutes) * 60 + int(seconds)) * 1000
        except (TypeError, ValueError, IndexError, OverflowError):
            raise InputError(path, f"annotation {i}: bad position {str(item.get('position'))[:40]!r}",
                             "position must be finite milliseconds as an integer string") from None
        if ms > 10**12:  # far past any half (int64 arithmetic stays safe); officially clipped to the last frame
            ms = 10**12
        if ms < 0:
            raise InputError(path, f"annotation {i}: negative position {ms}", "positions are ms from the half start")
        half.append(h)
        pos.append(ms)
        cls.append(index[label])
        vis.append(item.get("visibility", "visible") != "not shown")
        team.append(str(item.get("team", "")))
    return Annotations.from_lists(half, pos, cls, vis, team, np.ones(len(half)))


MAX_JSON_BYTES = 200 * 1024 * 1024  # a full game's results are ~1 MB; 200 MB is a file no reader here should load


def read_json(path: str | Path) -> dict:
    """Read a JSON file, turning I/O and syntax errors into an :class:`InputError`.

    Size and first bytes are checked before anything is parsed: a file over ``MAX_JSON_BYTES``, or
    one that does not start with ``{`` or ``[``, is refused without being read whole. Messages never
    quote the file's content.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found", "check the path")
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise InputError(path, f"{size / 2**20:,.0f} MB, over the {MAX_JSON_BYTES // 2**20} MB limit for "
                             "a JSON file", "a SoccerNet labels or results file is a few MB: check the path")
        with open(path, "rb") as handle:
            data = handle.read(MAX_JSON_BYTES + 1)  # a file whose size the OS does not report (/proc) stays capped
    except OSError as error:
        raise InputError(path, f"cannot be read ({error.strerror or type(error).__name__})", "check the path") from None
    return parse_json_bytes(data, path)


def parse_json_bytes(data: bytes, path: str | Path) -> dict:
    """Parse the bytes of a JSON file named ``path`` (a file, a zip member) with :func:`read_json`'s checks:
    at most ``MAX_JSON_BYTES``, starting with ``{`` or ``[``, UTF-8, not nested past the stack."""
    if len(data) > MAX_JSON_BYTES:
        raise InputError(path, f"over the {MAX_JSON_BYTES // 2**20} MB limit for a JSON file", "check the path")
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()  # a BOM is left to json's own message
    if head and head[:1] not in (b"{", b"["):
        raise InputError(path, "not a JSON file (it does not start with '{' or '[')", "expected a JSON file")
    try:
        return json.loads(data.decode("utf-8"))
    except json.JSONDecodeError as error:
        raise InputError(path, f"malformed JSON (line {error.lineno}, column {error.colno}: {error.msg})",
                         "re-export or re-download the file") from None
    except UnicodeDecodeError:
        raise InputError(path, "not a UTF-8 text file", "expected a JSON file") from None
    except RecursionError:  # json recurses once per nesting level: a few KB of "[[[[" exhaust the stack
        raise InputError(path, "JSON nested too deeply to be a SoccerNet file", "check the file") from None


def read_labels(path: str | Path, unknown: str = "error", classes: Specifications | Sequence[str] | None = None,
                skipped: Counter | None = None) -> Annotations:
    """Read a label file (``Labels-v2.json``, ``Labels-ball.json``, ...) of the set ``classes`` (see :func:`parse_labels`)."""
    return parse_labels(read_json(path), path, unknown=unknown, classes=classes, skipped=skipped)


def _all_finite(array: np.ndarray) -> bool:
    if array.dtype == np.dtype("=f2") and array.size:  # numpy's float16 isfinite is ~15× slower than this
        return int((array.view(np.uint16) & 0x7C00).max()) != 0x7C00  # all exponent bits set: Inf or NaN
    return bool(np.isfinite(array).all())


def _features_not_found(path: Path) -> InputError:
    """The error for a missing ``<half>_<name>``: when the folder holds other features of that half (a game
    extracted with another backbone than the checkpoint's), it names them, since "download it" misleads there."""
    half, _, wanted = path.name.partition("_")
    others = sorted(p.name for p in path.parent.glob(f"{half}_*.npy") if p.name != path.name) if wanted else []
    if not others:
        return InputError(path, "features file not found",
                          "download it with SoccerNet's downloader or pick another --features name")
    names = ", ".join(others)
    return InputError(path, f"features file not found; this folder has {names}, other features than the "
                            f"{wanted} the checkpoint (or --features) asks for",
                      f"use a checkpoint trained on {' or '.join(n.partition('_')[2] for n in others)}, or extract {wanted} for this "
                      "game (python -m spotting.features)")


def load_features(path: str | Path, dim: int | None = None, check_finite: bool = True) -> np.ndarray:
    """Memory-map one half's features ``(T, D)`` float array, validating shape and values."""
    path = Path(path)
    if not path.is_file():
        raise _features_not_found(path)
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(path, f"not a readable .npy array ({error})", "the file is truncated or corrupt: re-download it") from None
    if array.ndim != 2:
        raise InputError(path, f"features have shape {array.shape}, expected (frames, dim)",
                         "save one half's features as a 2-D array")
    if array.shape[0] == 0:
        raise InputError(path, "features are empty (0 frames)", "re-extract this half's features")
    if dim is not None and array.shape[1] != dim:
        raise InputError(path, f"features have dimension {array.shape[1]}, the model expects {dim}",
                         "pick the features the checkpoint was trained on (--features)")
    if not np.issubdtype(array.dtype, np.floating):
        raise InputError(path, f"features have dtype {array.dtype}", "expected float16/float32 features")
    if check_finite and not _all_finite(array):
        bad = int((~np.isfinite(array)).any(axis=1).sum())
        raise InputError(path, f"{bad} frame(s) contain NaN or Inf", "re-extract the features of this half")
    return array


@dataclass(frozen=True)
class Game:
    """One game folder: ``<root>/<league>/<season>/<game>/`` (or any folder with the files)."""

    directory: Path
    name: str  # path relative to the SoccerNet root, as in UrlLocal
    features: str = DEFAULT_FEATURES
    split: str | None = None
    files: tuple[str, ...] = field(default=(), compare=False)
    labels_file: str = LABELS_FILE  # Labels-v2.json, Labels-ball.json, ... (the class set's)

    def features_path(self, half: int) -> Path:
        return self.directory / f"{half}_{self.features}"

    @property
    def labels_path(self) -> Path:
        return self.directory / self.labels_file

    @property
    def has_labels(self) -> bool:
        return self.labels_path.is_file()

    def has_features(self) -> bool:
        return all(self.features_path(h).is_file() for h in HALVES)

    def missing_features(self) -> list[str]:
        """Names of the halves' feature files that are not there (``[]`` when both are)."""
        return [self.features_path(h).name for h in HALVES if not self.features_path(h).is_file()]

    def video_path(self, half: int) -> Path | None:
        """The first video of the half found, in SoccerNet's naming (``1_224p.mkv``, ...)."""
        for name in VIDEO_NAMES:
            candidate = self.directory / f"{half}_{name}"
            if candidate.is_file():
                return candidate
        return None

    def load_features(self, half: int, dim: int | None = None) -> np.ndarray:
        return load_features(self.features_path(half), dim=dim)

    def read_labels(self, unknown: str = "error", classes: Specifications | Sequence[str] | None = None,
                    skipped: Counter | None = None) -> Annotations:
        """This game's labels in the set ``classes`` (default SoccerNet-v2; see :func:`parse_labels`)."""
        return read_labels(self.labels_path, unknown=unknown, classes=classes, skipped=skipped)


def game_at(directory: str | Path, root: str | Path | None = None, features: str = DEFAULT_FEATURES,
            labels_file: str = LABELS_FILE) -> Game:
    """The game in ``directory`` (named relative to ``root``); :class:`InputError` when it is no folder."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputError(directory, "game folder not found", "check the path")
    name = os.path.relpath(directory, root) if root is not None else directory.name
    files = tuple(sorted(p.name for p in directory.iterdir() if p.is_file()))
    return Game(directory=directory, name=name.replace(os.sep, "/"), features=features, files=files,
                labels_file=labels_file)
