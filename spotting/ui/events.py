"""Pure helpers of the game page around events: matching, filters, the event table, CSV, jumps, plurals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spotting.metrics import match_events
from spotting.soccernet import CLASSES, HALVES, Annotations
from spotting.ui.figures import signed_clock

GROUND_TRUTH = "ground truth"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``"1 false alarm"``, ``"2 false alarms"``, ``"0 events"``: every count the page writes goes through it."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


@dataclass(frozen=True)
class SourceEvents:
    """One prediction source after thresholds (all halves), matched against the labels when possible."""

    name: str
    events: Annotations
    matched: np.ndarray | None = None  # (N,) bool, per event: a ground truth lies within the tolerance
    label_matched: np.ndarray | None = None  # (L,) bool, per label: this source found it
    candidates: Annotations | None = None  # every prediction before thresholds: the official, threshold-free figures
    prediction_label: np.ndarray | None = None  # (N,) int: the label an event matched, -1 when none


def match(labels: Annotations | None, events: Annotations, tolerance_s: float, framerate: float = 2.0,
          num_classes: int | None = None) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """``(prediction_matched, label_matched, prediction_label)`` from ``spotting.metrics.match_events`` on the
    game's evaluation grid (``framerate``, ``num_classes`` of its class set); ``(None, None, None)`` without labels."""
    if labels is None:
        return None, None, None
    result = match_events(labels, events, tolerance_s=tolerance_s, framerate=framerate, num_classes=num_classes)
    return (np.asarray(result.prediction_matched, bool), np.asarray(result.label_matched, bool),
            np.asarray(result.prediction_label, np.int64))


# ----------------------------------------------------------------------------- filters

ALL = "all"


@dataclass(frozen=True)
class EventFilter:
    """Which events the table, the timeline, n / p and the jumps go through. ``code`` is what the URL holds:
    ``all``, ``fa:<source>`` (its false alarms), ``miss:<source>`` (ground truth it missed) or
    ``vs:<a>|<b>`` (ground truth found by a, missed by b)."""

    code: str
    label: str


def event_filters(names: Sequence[str], has_labels: bool) -> list[EventFilter]:
    """The filters that make sense for these sources: per source its false alarms and misses, and with
    two sources or more each "found by A, missed by B"."""
    filters = [EventFilter(ALL, "All events")]
    if not has_labels:
        return filters
    for name in names:
        filters += [EventFilter(f"fa:{name}", f"False alarms of {name}"), EventFilter(f"miss:{name}", f"Missed by {name}")]
    for a in names:
        for b in names:
            if a != b:
                filters.append(EventFilter(f"vs:{a}|{b}", f"Found by {a}, missed by {b}"))
    return filters


@dataclass(frozen=True)
class FilteredEvents:
    """What a filter keeps: per source a mask over its events and a mask over the labels it is shown
    as having missed; a mask over the labels drawn and listed as ground truth."""

    predictions: tuple[np.ndarray, ...]  # per source: (N_i,) bool
    missed: tuple[np.ndarray | None, ...]  # per source: (L,) bool, None without matching
    labels: np.ndarray | None  # (L,) bool; None without labels
    about_labels: bool = False  # the filter is about ground truth: the table lists it and jumps go through it


def apply_filter(code: str, shown: Sequence[SourceEvents], labels: Annotations | None) -> FilteredEvents:
    """The events ``code`` keeps (an unknown code keeps everything, as ``all`` does)."""
    count = 0 if labels is None else len(labels)
    names = [s.name for s in shown]
    none_l = np.zeros(count, bool)
    missed_all = tuple(None if s.label_matched is None else ~s.label_matched for s in shown)
    everything = FilteredEvents(tuple(np.ones(len(s.events), bool) for s in shown), missed_all,
                                None if labels is None else np.ones(count, bool))
    kind, _, rest = code.partition(":")
    nothing = tuple(np.zeros(len(s.events), bool) for s in shown)
    if kind == "fa" and rest in names and shown[names.index(rest)].matched is not None:
        i = names.index(rest)
        predictions = list(nothing)
        predictions[i] = ~shown[i].matched
        return FilteredEvents(tuple(predictions), tuple(None if m is None else none_l for m in missed_all), none_l)
    if kind == "miss" and rest in names and shown[names.index(rest)].label_matched is not None:
        i = names.index(rest)
        missed = ~shown[i].label_matched
        return FilteredEvents(nothing, tuple(missed if j == i else (None if m is None else none_l)
                                             for j, m in enumerate(missed_all)), missed, True)
    a, _, b = rest.partition("|")
    if kind == "vs" and a in names and b in names and a != b:
        ia, ib = names.index(a), names.index(b)
        if shown[ia].label_matched is not None and shown[ib].label_matched is not None:
            chosen = shown[ia].label_matched & ~shown[ib].label_matched
            predictions = list(nothing)
            if shown[ia].prediction_label is not None:  # a's predictions that found them
                link = shown[ia].prediction_label
                predictions[ia] = (link >= 0) & chosen[np.maximum(link, 0)]
            missed = tuple(chosen if j == ib else (None if m is None else none_l) for j, m in enumerate(missed_all))
            return FilteredEvents(tuple(predictions), missed, chosen, True)
    return everything


def label_status(shown: Sequence[SourceEvents], labels: Annotations) -> np.ndarray:
    """Per label, who found it: ``"found by A"``, ``"missed by A"``, ``"found by A · missed by B"``; with no
    matched source ``"ground truth"``. ``(L,)`` object array; an unshown label says so."""
    matched = [(s.name, s.label_matched) for s in shown if s.label_matched is not None]
    if not matched:
        status = np.full(len(labels), GROUND_TRUTH, dtype=object)
    else:
        found = np.array([", ".join(n for n, m in matched if m[i]) for i in range(len(labels))], dtype=object)
        missed = np.array([", ".join(n for n, m in matched if not m[i]) for i in range(len(labels))], dtype=object)
        status = np.array([" · ".join(part for part in (f"found by {f}" if f else "", f"missed by {m}" if m else "")
                                      if part) for f, m in zip(found, missed)], dtype=object)
    return np.where(labels.visible, status, status.astype(str).astype(object) + " (not shown)").astype(object)


# ----------------------------------------------------------------------------- the event table and the CSV

def _status(matched: np.ndarray | None, count: int) -> np.ndarray:
    if matched is None:
        return np.full(count, "—", dtype=object)
    return np.where(matched, "✓ matched", "✗ false alarm").astype(object)


def _in(classes: Sequence[int], class_index: np.ndarray) -> np.ndarray:
    """``(N,)`` bool: the event's class is one of ``classes`` (of any class set)."""
    return np.isin(class_index, np.asarray(list(classes), dtype=np.int64))


def events_table(sources: Sequence[SourceEvents], labels: Annotations | None, half: int,
                 classes: Sequence[int], include_labels: bool = False,
                 kept: FilteredEvents | None = None, class_names: Sequence[str] = CLASSES) -> pd.DataFrame:
    """Rows of the event table for one half: predictions of every source (and the labels when asked,
    or when the filter ``kept`` is about them), in the classes on the timeline, kept by the filter.

    Columns: ``time`` (MM:SS), ``seconds``, ``class`` (named by ``class_names``), ``source``,
    ``confidence``, ``status``.
    """
    frames = []
    for index, source in enumerate(sources):
        mask = (source.events.half == half) & _in(classes, source.events.class_index)
        if kept is not None:
            mask &= kept.predictions[index]
        part = source.events.select(mask)
        status = _status(None if source.matched is None else source.matched[mask], len(part))
        frames.append(_frame(part, source.name, status, class_names))
    if labels is not None and (include_labels or (kept is not None and kept.about_labels)):
        mask = (labels.half == half) & _in(classes, labels.class_index)
        if kept is not None and kept.labels is not None:
            mask &= kept.labels
        part = labels.select(mask)
        frame = _frame(part, GROUND_TRUTH, label_status(sources, labels)[mask], class_names)
        frame["confidence"] = np.nan  # ground truth has no confidence
        frames.append(frame)
    if not frames:
        return _frame(Annotations.empty(), "", np.zeros(0, object), class_names)
    table = pd.concat(frames, ignore_index=True)
    return table.sort_values(["seconds", "source"], kind="stable", ignore_index=True)


def _frame(events: Annotations, source: str, status: np.ndarray, class_names: Sequence[str] = CLASSES) -> pd.DataFrame:
    seconds = events.position_ms / 1000.0
    return pd.DataFrame({
        "time": signed_clock(seconds),
        "seconds": seconds,
        "class": np.asarray(class_names, dtype=object)[events.class_index],
        "source": np.full(len(events), source, dtype=object),
        "confidence": events.confidence.astype(float),
        "status": status,
    })


CSV_COLUMNS = ["source", "half", "time", "position_ms", "class", "confidence", "status", "matched"]


def events_csv(sources: Sequence[SourceEvents], labels: Annotations | None = None, include_missed: bool = False,
               class_names: Sequence[str] = CLASSES) -> bytes:
    """Every thresholded event of every source, both halves, as CSV; with ``include_missed``, also one row
    per ground truth each source missed (``status`` "missed", no confidence).

    Columns: source, half, time, position_ms, class, confidence, status (correct / false alarm / missed,
    empty without labels), matched (yes / no, empty without labels; kept for older readers).
    """
    rows = []
    for source in sources:
        events = source.events
        status = (np.full(len(events), "", dtype=object) if source.matched is None
                  else np.where(source.matched, "correct", "false alarm").astype(object))
        rows.append(_csv_rows(source.name, events, events.confidence, status,
                              np.full(len(events), "", dtype=object) if source.matched is None
                              else np.where(source.matched, "yes", "no").astype(object), class_names))
        if include_missed and labels is not None and source.label_matched is not None:
            missed = labels.select(~source.label_matched)
            rows.append(_csv_rows(source.name, missed, np.full(len(missed), np.nan),
                                  np.full(len(missed), "missed", dtype=object), np.full(len(missed), "", dtype=object),
                                  class_names))
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=CSV_COLUMNS)
    return table.sort_values(["source", "half", "position_ms"], kind="stable").to_csv(index=False).encode("utf-8")


def _csv_rows(name: str, events: Annotations, confidence: np.ndarray, status: np.ndarray,
              matched: np.ndarray, class_names: Sequence[str] = CLASSES) -> pd.DataFrame:
    return pd.DataFrame({"source": name, "half": events.half, "time": signed_clock(events.position_ms / 1000.0),
                         "position_ms": events.position_ms,
                         "class": np.asarray(class_names, dtype=object)[events.class_index],
                         "confidence": confidence, "status": status, "matched": matched}, columns=CSV_COLUMNS)


def download_name(game_name: str, suffix: str) -> str:
    """``<game>_<suffix>`` as a file name: the game's last folder, without characters file systems refuse."""
    base = game_name.rstrip("/").rsplit("/", 1)[-1] or "game"
    clean = "".join("_" if c in '<>:"/\\|?*' or ord(c) < 32 else c for c in base).strip(" .") or "game"
    return f"{clean}_{suffix}"


# ----------------------------------------------------------------------------- jumps

def jump_targets(shown: Sequence[SourceEvents], labels: Annotations | None, kept: FilteredEvents,
                 classes: Sequence[int]) -> list[tuple[int, float]]:
    """``(half, seconds)`` of every event the filter keeps in the shown classes, both halves, in time order:
    the labels when the filter is about ground truth (misses, found by A and missed by B), else the
    predictions it keeps."""
    targets = []
    if labels is not None and kept.labels is not None and kept.about_labels:  # the ground truth in question
        chosen = kept.labels & _in(classes, labels.class_index)
        targets += zip(labels.half[chosen].tolist(), (labels.position_ms[chosen] / 1000.0).tolist())
    else:
        for source, mask in zip(shown, kept.predictions):
            chosen = mask & _in(classes, source.events.class_index)
            targets += zip(source.events.half[chosen].tolist(), (source.events.position_ms[chosen] / 1000.0).tolist())
    return sorted((int(h), float(t)) for h, t in targets if h in HALVES)


def neighbour(targets: Sequence[tuple[int, float]], half: int, now_s: float, direction: int) -> tuple[int, float] | None:
    """The next (``direction`` +1) or previous (-1) target from ``(half, now_s)``, moving on to the other
    half and wrapping around at the ends; a target within 0.5 s of the playhead is the current one."""
    if not targets:
        return None
    if direction > 0:
        later = [t for t in targets if t > (half, now_s + 0.5)]
        return later[0] if later else targets[0]
    earlier = [t for t in targets if t < (half, now_s - 0.5)]
    return earlier[-1] if earlier else targets[-1]


def next_time(times_s: np.ndarray, after_s: float) -> float | None:
    """The first time strictly after ``after_s`` (+0.5 s, so a jump never lands on the current event), else wrap."""
    times_s = np.sort(np.asarray(times_s, dtype=float))
    if times_s.size == 0:
        return None
    later = times_s[times_s > after_s + 0.5]
    return float(later[0] if later.size else times_s[0])
