"""What the game page needs to know about a game's task, from the data and the model (no Streamlit here).

* :func:`game_specifications` — the game's class set (SoccerNet-v2, Ball Action 2023 / 2024, ...),
  recognised from the label files of its SoccerNet root or of its own folder;
* :func:`game_timing` — the frame rate its features are drawn with and each half's length: a
  model's rate when one is chosen (a contradiction with the data is a :class:`InputError` naming the
  file, both rates and the fix, for ``st.error``), else the rate the user picked unless the data
  contradicts it (a 1-fps Baidu half keeps its 47 minutes); a known length (``games.json``, the
  video) always wins;
* :func:`task_problem` — a model of another class set than the game's, said in one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from spotting.datatree import Tree, detect_specifications
from spotting.errors import InputError
from spotting.soccernet import Annotations, Game
from spotting.specs import SOCCERNET_V2, Specifications
from spotting.timebase import (HalfDuration, check_feature_rate, display_rate, half_lengths, known_durations,
                               last_events_s)

DEFAULT_FEATURES_RATE = 2.0  # a features-only game without a model: SoccerNet's ResNET features


def game_specifications(directory: str | Path, root: str | Path | None = None) -> Specifications:
    """The class set of the game in ``directory``: recognised from the label files under ``root`` (its
    SoccerNet root) when given, else from the game folder's own; SoccerNet-v2 when there are none or
    their labels belong to no built-in set (the labels reader then names the unknown label)."""
    try:
        spec, _ = detect_specifications(Tree(root if root else directory))
    except InputError:
        return SOCCERNET_V2
    return spec


def task_problem(model_spec: Specifications, game_spec: Specifications, checkpoint: str | Path) -> InputError | None:
    """A model of another class set than the game's: the error to show (None when they agree)."""
    if model_spec.classes == game_spec.classes:
        return None
    return InputError(checkpoint, f"the model spots {model_spec.describe()}, this game's labels are "
                      f"{game_spec.describe()}", "pick a checkpoint trained on this class set")


@dataclass(frozen=True)
class GameTiming:
    """How a game's halves are drawn: the features' rate, each half's length, and what the data said."""

    framerate: float  # frames per second the features are drawn with
    lengths_s: dict[int, float]  # seconds of each half on the time axis
    durations: dict[int, HalfDuration] = field(default_factory=dict)  # lengths known from the data
    note: str = ""  # e.g. "features at 1 fps (from their length and the labels)"
    warnings: tuple[str, ...] = ()  # a half over 60 minutes at the rate, nothing else known


def game_timing(game: Game, labels: Annotations | None, frames: dict[int, int], model_rate: float | None = None,
                picked_rate: float | None = None, default_rate: float = DEFAULT_FEATURES_RATE) -> GameTiming:
    """The rate and half lengths of ``game`` whose halves have ``frames[half]`` feature frames.

    With ``model_rate`` (a model is chosen) the features must be at that rate: a known length that
    contradicts it raises :class:`InputError` (:func:`spotting.timebase.check_feature_rate`).
    Without, the rate is ``picked_rate`` (else ``default_rate``: 2 fps, or the game's class set's rate,
    25 for Ball Action) unless a known length contradicts it; then the features' own rate, said in ``note``.
    """
    last = last_events_s(labels)
    durations = known_durations(game, last)
    if model_rate is not None:
        warnings = []
        for half, count in sorted(frames.items()):
            warning = check_feature_rate(game.features_path(half), count, model_rate, durations.get(half))
            if warning:
                warnings.append(warning)
        return GameTiming(model_rate, half_lengths(frames, model_rate, durations, last), durations,
                          warnings=tuple(warnings))
    preferred = picked_rate or default_rate
    rate = display_rate(frames, preferred, durations) if frames else preferred
    note = ""
    if frames and rate != preferred:
        source = next((d.source for d in durations.values()), "the data")
        note = (f"The features are drawn at {rate:g} fps, not {preferred:g}: at {preferred:g} fps their length "
                f"would contradict {'the labels' if source == 'labels' else source}.")
    warnings = []
    for half, count in sorted(frames.items()):
        try:
            warning = check_feature_rate(game.features_path(half), count, rate, durations.get(half))
        except InputError as error:  # the halves disagree (one's video, the other's labels): say it, draw anyway
            warning = str(error)
        if warning:
            warnings.append(warning)
    return GameTiming(rate, half_lengths(frames, rate, durations, last), durations, note, tuple(warnings))
