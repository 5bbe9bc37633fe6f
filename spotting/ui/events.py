"""Pure helpers of the page around events: thresholds, matching, the event table, CSV, jumps, URL state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spotting.metrics import match_events
from spotting.soccernet import CLASS_INDEX, CLASSES, NUM_CLASSES, Annotations
from spotting.ui.figures import signed_clock


@dataclass(frozen=True)
class SourceEvents:
    """One prediction source after thresholds (all halves), matched against the labels when possible."""

    name: str
    events: Annotations
    matched: np.ndarray | None = None  # (N,) bool, per event: a ground truth lies within the tolerance
    label_matched: np.ndarray | None = None  # (L,) bool, per label: this source found it
    candidates: Annotations | None = None  # every prediction before thresholds: the official, threshold-free figures


def match(labels: Annotations | None, events: Annotations, tolerance_s: float,
          framerate: float = 2.0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(prediction_matched, label_matched)`` from ``spotting.metrics.match_events``; ``(None, None)`` without labels."""
    if labels is None:
        return None, None
    result = match_events(labels, events, tolerance_s=tolerance_s, framerate=framerate)
    return np.asarray(result.prediction_matched, bool), np.asarray(result.label_matched, bool)


def _status(matched: np.ndarray | None, count: int) -> np.ndarray:
    if matched is None:
        return np.full(count, "—", dtype=object)
    return np.where(matched, "✓ matched", "✗ false alarm").astype(object)


def events_table(sources: Sequence[SourceEvents], labels: Annotations | None, half: int,
                 classes: Sequence[int], include_labels: bool = False) -> pd.DataFrame:
    """Rows of the event table for one half: predictions of every source (and optionally the labels).

    Columns: ``time`` (MM:SS), ``seconds``, ``class``, ``source``, ``confidence``, ``status``.
    """
    allowed = np.zeros(NUM_CLASSES, bool)
    allowed[list(classes)] = True
    frames = []
    for source in sources:
        mask = (source.events.half == half) & allowed[source.events.class_index]
        part = source.events.select(mask)
        status = _status(None if source.matched is None else source.matched[mask], len(part))
        frames.append(_frame(part, source.name, status))
    if include_labels and labels is not None:
        mask = (labels.half == half) & allowed[labels.class_index]
        part = labels.select(mask)
        primary = sources[0] if sources else None
        if primary is not None and primary.label_matched is not None:
            status = np.where(primary.label_matched[mask], f"found by {primary.name}", f"missed by {primary.name}")
        else:
            status = np.full(len(part), "ground truth")
        status = np.where(part.visible, status, np.char.add(status.astype(str), " (not shown)")).astype(object)
        frame = _frame(part, "ground truth", status)
        frame["confidence"] = np.nan
        frames.append(frame)
    if not frames:
        return _frame(Annotations.empty(), "", np.zeros(0, object))
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["seconds", "source"], kind="stable", ignore_index=True)


def _frame(events: Annotations, source: str, status: np.ndarray) -> pd.DataFrame:
    seconds = events.position_ms / 1000.0
    return pd.DataFrame({
        "time": signed_clock(seconds),
        "seconds": seconds,
        "class": np.asarray(CLASSES, dtype=object)[events.class_index],
        "source": np.full(len(events), source, dtype=object),
        "confidence": events.confidence.astype(float),
        "status": status,
    })


def events_csv(sources: Sequence[SourceEvents]) -> bytes:
    """Every thresholded event of every source, both halves, as CSV (half, time, position_ms, class, ...)."""
    rows = []
    for source in sources:
        events = source.events
        rows.append(pd.DataFrame({
            "source": source.name,
            "half": events.half,
            "time": signed_clock(events.position_ms / 1000.0),
            "position_ms": events.position_ms,
            "class": np.asarray(CLASSES, dtype=object)[events.class_index],
            "confidence": events.confidence,
            "matched": (np.full(len(events), "", dtype=object) if source.matched is None
                        else np.where(source.matched, "yes", "no")),
        }))
    columns = ["source", "half", "time", "position_ms", "class", "confidence", "matched"]
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)
    return table.sort_values(["source", "half", "position_ms"], kind="stable").to_csv(index=False).encode("utf-8")


def next_time(times_s: np.ndarray, after_s: float) -> float | None:
    """The first time strictly after ``after_s`` (+0.5 s, so a jump never lands on the current event), else wrap."""
    times_s = np.sort(np.asarray(times_s, dtype=float))
    if times_s.size == 0:
        return None
    later = times_s[times_s > after_s + 0.5]
    return float(later[0] if later.size else times_s[0])
