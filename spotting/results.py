"""``results_spotting.json``: the official prediction format, read (string or numeric values) and written."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from spotting.errors import InputError
from spotting.soccernet import CLASS_INDEX, CLASSES, Annotations, format_game_time, read_json

RESULTS_FILE = "results_spotting.json"


def parse_results(data: dict, path: str | Path = RESULTS_FILE, unknown: str = "skip") -> Annotations:
    """Predictions of one game. Values may be strings (official files) or numbers.

    Unknown labels are skipped by default, as SoccerNet's evaluator does; ``unknown="error"`` rejects them.
    """
    path = Path(path)
    if not isinstance(data, dict) or not isinstance(data.get("predictions"), list):
        raise InputError(path, "no 'predictions' list", "expected a SoccerNet results_spotting.json")
    half, pos, cls, conf = [], [], [], []
    for i, item in enumerate(data["predictions"]):
        try:
            label = item["label"]
            if label not in CLASS_INDEX:
                if unknown == "skip":
                    continue
                raise InputError(path, f"prediction {i}: unknown label {label!r}",
                                 f"use one of the 17 SoccerNet-v2 classes: {', '.join(CLASSES)}")
            h = int(item["half"])
            ms = int(item["position"])
            c = float(item["confidence"])
        except (KeyError, TypeError, ValueError):
            raise InputError(path, f"prediction {i} is malformed: {item!r:.120}",
                             "each prediction needs label, half, position (ms) and confidence") from None
        if h not in (1, 2):
            raise InputError(path, f"prediction {i}: half {h} is not 1 or 2", "fix the 'half' field")
        if ms < 0:
            raise InputError(path, f"prediction {i}: negative position {ms}", "positions are ms from the half start")
        half.append(h)
        pos.append(ms)
        cls.append(CLASS_INDEX[label])
        conf.append(c)
    return Annotations.from_lists(half, pos, cls, np.ones(len(half), bool), [""] * len(half), conf)


def read_results(path: str | Path, unknown: str = "skip") -> Annotations:
    """Read a ``results_spotting.json`` file."""
    return parse_results(read_json(path), path, unknown=unknown)


def results_dict(events: Annotations, url_local: str = "") -> dict:
    """The official JSON structure (string values, as SoccerNet publishes them)."""
    # Sorted by half and evaluation frame only: predictions sharing a frame and class keep their
    # order, because SoccerNet's evaluator keeps the last one written.
    order = np.lexsort((events.frames(2.0), events.half))
    halves = events.half[order].astype(np.int64).tolist()  # plain Python values: no per-event numpy scalars
    positions = events.position_ms[order].astype(np.int64).tolist()
    classes = events.class_index[order].astype(np.int64).tolist()
    confidences = events.confidence[order].astype(np.float64).tolist()
    predictions = [
        {
            "gameTime": format_game_time(half, position),
            "label": CLASSES[cls],
            "position": str(position),
            "half": str(half),
            "confidence": str(confidence),
        }
        for half, position, cls, confidence in zip(halves, positions, classes, confidences)
    ]
    return {"UrlLocal": url_local, "predictions": predictions}


def write_results(path: str | Path, events: Annotations, url_local: str = "", force: bool = False) -> Path:
    """Write ``results_spotting.json`` atomically; refuse to overwrite an existing file unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise InputError(path, "already exists", "pass --force to overwrite it or choose another --out")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".results-", suffix=".json")
    results = results_dict(events, url_local)
    # One prediction per line: readable, and json's C encoder (it is bypassed whenever indent is set)
    # writes thousands of predictions in milliseconds.
    lines = ",\n".join(map(json.dumps, results["predictions"]))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f'{{"UrlLocal": {json.dumps(results["UrlLocal"])}, "predictions": [\n{lines}\n]}}\n')
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; a results file or checkpoint is meant to be shared
    os.replace(tmp, path)
    return path
