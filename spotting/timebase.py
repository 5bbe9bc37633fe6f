"""Frame rates and half lengths: what the data says about the rate of a half's features.

Nothing here assumes 2 fps. A half's features ``(T, D)`` at ``r`` frames per second last ``T / r``
seconds; when the half's duration is known the features' own rate follows:

* exactly, from a ``games.json``-like table (``half_duration_s`` per game, as in the shared data) or
  the half's video (its container's duration);
* as a bound, from the labels: the half lasts at least until its last event.

:func:`check_feature_rate` turns a disagreement with a model's rate into an :class:`InputError`
naming the file, both rates and the fix (the CLI exits 2 with it, the app shows it), and a half
longer than :data:`LONGEST_HALF_S` at the model's rate, with nothing else known, into a warning.
:func:`display_rate` picks the rate to draw a features-only half with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spotting.errors import InputError
from spotting.soccernet import Annotations, Game
from spotting.specs import Specifications

# Rates features are extracted at (SoccerNet: 2 and 25, Baidu: 1, video rates otherwise).
STANDARD_RATES = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.5, 15.0, 24.0, 25.0, 29.97, 30.0, 50.0, 59.94, 60.0)
LONGEST_HALF_S = 60 * 60  # no real half is longer (SoccerNet's are 45-53 min; its evaluator stops at 120)
RATE_TOLERANCE = 0.1  # relative: 5400 frames for a 2,700 s half is 2 fps; 5,000 would still pass
SHORTEST_COVER = 0.75  # features may stop a little before the last label (a cut video), not at half of it
MAX_METADATA_BYTES = 50 * 2**20


@dataclass(frozen=True)
class HalfDuration:
    """A half's length in seconds and where it comes from: ``"games.json"`` (or that file's path),
    ``"video"``, ``"labels"`` (the last event: a lower bound only)."""

    seconds: float
    source: str

    @property
    def exact(self) -> bool:
        """Known exactly (metadata, video), not bounded by the last label."""
        return self.source != "labels"


def clock(seconds: float) -> str:
    """``"47:20"`` (minutes:seconds, whole seconds truncated)."""
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def snap_rate(rate: float, at_most: bool = False) -> float:
    """The standard rate nearest ``rate`` (``at_most``: the largest not above it, 2 % slack); ``rate``
    itself (3 significant digits) when none is within 5 %."""
    rates = np.asarray(STANDARD_RATES)
    if at_most:
        below = rates[rates <= rate * 1.02]
        return float(below[-1]) if below.size else float(f"{rate:.3g}")
    nearest = float(rates[np.argmin(np.abs(rates - rate))])
    return nearest if abs(nearest - rate) <= 0.05 * rate else float(f"{rate:.3g}")


def games_json_durations(directory: str | Path, levels: int = 4) -> dict[int, HalfDuration]:
    """Half lengths of the game in ``directory`` from the first ``games.json`` found in it or up to
    ``levels`` folders above (rows ``{"game": "<league>/<season>/<game>", "half_duration_s": {"1": s}}``
    whose ``game`` ends the directory's path). ``{}`` when there is none or it is unreadable."""
    directory = Path(directory)
    path_text = directory.as_posix().rstrip("/")
    for folder in [directory, *list(directory.parents)[:levels]]:
        candidate = folder / "games.json"
        if not candidate.is_file():
            continue
        try:
            if candidate.stat().st_size > MAX_METADATA_BYTES:
                return {}
            rows = json.loads(candidate.read_text(encoding="utf-8"))
            row = next((r for r in rows if isinstance(r, dict) and isinstance(r.get("game"), str)
                        and r["game"] and path_text.endswith("/" + r["game"].strip("/"))), None)
            if row is None:
                return {}
            durations = {int(h): float(s) for h, s in row["half_duration_s"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
            return {}
        return {h: HalfDuration(s, "games.json") for h, s in durations.items()
                if h in (1, 2) and np.isfinite(s) and 0 < s < 86_400}
    return {}


def video_duration(path: str | Path | None) -> float | None:
    """A video's length in seconds from its container (PyAV), None when unknown or unreadable."""
    if path is None:
        return None
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return float(container.duration) / 1_000_000
            stream = container.streams.video[0]
            if stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except Exception:  # any container problem: the length is simply unknown here
        return None
    return None


def known_durations(game: Game, last_event_s: dict[int, float] | None = None) -> dict[int, HalfDuration]:
    """Each half's length as known for ``game`` (a :class:`spotting.soccernet.Game`): ``games.json``
    first, then the half's video (unless it ends before the half's last event: a clip), then the last
    event of ``last_event_s`` (``{half: seconds}``)."""
    found = games_json_durations(game.directory)
    last_event_s = last_event_s or {}
    for half in (1, 2):
        if half not in found:
            seconds = video_duration(game.video_path(half))
            # A video ending before the half's last label is a clip or a stand-in, not the half's length.
            if seconds and 0 < seconds < 86_400 and seconds + 1.0 >= last_event_s.get(half, 0.0):
                found[half] = HalfDuration(seconds, "video")
        if half not in found and last_event_s and last_event_s.get(half, 0) > 0:
            found[half] = HalfDuration(float(last_event_s[half]), "labels")
    return found


def last_events_s(events: Annotations | None) -> dict[int, float]:
    """``{half: seconds of its last event}`` of an :class:`~spotting.soccernet.Annotations` (halves 1, 2)."""
    if events is None or len(events) == 0:
        return {}
    return {h: float(events.position_ms[events.half == h].max()) / 1000
            for h in (1, 2) if (events.half == h).any()}


def features_rate(frames: int, duration: HalfDuration) -> float:
    """The features' own rate from a known length: ``frames / seconds`` (exact) or, from the last event
    (a lower bound of the length, so an upper bound of the rate), the largest standard rate below it."""
    rate = frames / duration.seconds
    return rate if duration.exact else snap_rate(rate, at_most=True)


def check_feature_rate(path: str | Path, frames: int, model_rate: float,
                       duration: HalfDuration | None = None) -> str | None:
    """Whether ``frames`` features of a half (file ``path``) fit a model at ``model_rate`` fps.

    Raises :class:`InputError` (naming the file, both rates and the fix) when a known length
    disagrees: an exact one by more than :data:`RATE_TOLERANCE`; the last event when the features
    end well before it (under :data:`SHORTEST_COVER` of it), or when they would last over
    :data:`LONGEST_HALF_S` and more than twice as long.
    Returns a warning line when nothing is known and the half would last over 60 minutes; else None.
    """
    seconds_at_model = frames / model_rate
    if duration is not None and duration.seconds > 0:
        implied = frames / duration.seconds
        if duration.exact:
            wrong = abs(implied - model_rate) > RATE_TOLERANCE * model_rate
            what = f"the half lasts {clock(duration.seconds)} ({duration.source})"
        else:
            too_short = seconds_at_model < SHORTEST_COVER * duration.seconds  # not a cut-off end: another rate
            too_long = seconds_at_model > LONGEST_HALF_S and seconds_at_model > 2 * duration.seconds
            wrong = too_short or too_long
            what = f"its last label is at {clock(duration.seconds)}"
        if wrong:
            rate = features_rate(frames, duration)
            raise InputError(path, f"{frames} frames at the model's {model_rate:g} fps make a "
                             f"{clock(seconds_at_model)} half, but {what}: these features are at about "
                             f"{rate:.3g} fps, the model at {model_rate:g} fps",
                             f"extract the features at {model_rate:g} fps, or use a model trained on "
                             f"{snap_rate(rate):g}-fps features (python -m spotting.train --framerate {snap_rate(rate):g})")
        return None
    if seconds_at_model > LONGEST_HALF_S:
        return (f"{path}: {frames} frames at the model's {model_rate:g} fps make a {clock(seconds_at_model)} half, "
                f"longer than any real half: are these features at another frame rate than {model_rate:g} fps? "
                "(a games.json with half_duration_s, the half's video or its labels would tell)")
    return None


def display_rate(frames: dict[int, int], preferred: float, durations: dict[int, HalfDuration]) -> float:
    """The rate to draw a half's features with when no model says it: ``preferred`` (the chosen
    model's, or the user's pick) unless a known length contradicts it, then the features' own rate
    (of the first half that tells)."""
    for half, count in sorted(frames.items()):
        duration = durations.get(half)
        if duration is None or count <= 0:
            continue
        try:
            check_feature_rate("", count, preferred, duration)
        except InputError:
            return features_rate(count, duration)
    return preferred


def half_lengths(frames: dict[int, int], rate: float | None, durations: dict[int, HalfDuration],
                 last_event_s: dict[int, float] | None = None) -> dict[int, float]:
    """Seconds of each half to draw: an exact known length, else the features at ``rate`` (never
    shorter than the last event), else the last event rounded up to a whole minute past 45:00."""
    last_event_s = last_event_s or {}
    lengths = {}
    for half in (1, 2):
        duration = durations.get(half)
        last = last_event_s.get(half, 0.0)
        if duration is not None and duration.exact:
            lengths[half] = max(duration.seconds, last)
        elif half in frames and rate:
            lengths[half] = max(frames[half] / rate, last)
        else:
            lengths[half] = float(max(45 * 60, np.ceil((last + 30) / 60) * 60))
    return lengths


def check_game_rates(game: Game, frames: dict[int, int], model_rate: float,
                     classes: Specifications | None = None) -> list[str]:
    """:func:`check_feature_rate` for each half of ``game`` (a :class:`spotting.soccernet.Game`) whose
    features have ``frames[half]`` frames, with the lengths :func:`known_durations` finds (its labels,
    read in the set ``classes``, only when they can be read). Returns the warnings; raises
    :class:`InputError` on a mismatch."""
    last = {}
    if game.has_labels:
        try:
            last = last_events_s(game.read_labels(unknown="skip", classes=classes))
        except (InputError, TypeError, ValueError, AttributeError, KeyError):
            last = {}  # bad labels are another command's problem; inference does not need them
    durations = known_durations(game, last)
    warnings = []
    for half, count in sorted(frames.items()):
        warning = check_feature_rate(game.features_path(half), count, model_rate, durations.get(half))
        if warning:
            warnings.append(warning)
    return warnings
