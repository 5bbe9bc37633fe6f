"""The events of a synthetic match, sampled from the statistics of 200 real SoccerNet-v2 games.

The timeline is a first-order Markov chain over the 17 classes: the next class follows the real
transition probabilities (Ball out of play → Throw-in / Corner, Foul → free kick / card, Goal →
Kick-off, ...), the gap follows the real gap distribution of that (previous, next) pair, and team
and visibility ("not shown") follow the real per-class rates. ``stats.json`` holds the numbers
(written by ``scripts/synth_stats.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from spotting.soccernet import CLASS_INDEX, CLASSES, NUM_CLASSES, Annotations

STATS_FILE = Path(__file__).with_name("stats.json")
MIN_GAP_S = 1.0  # two events of a half are at least this far apart, so each cue owns >= 2 feature frames
TEAMS = ("home", "away", "not applicable")


@dataclass(frozen=True)
class TimelineStats:
    """The arrays of ``stats.json`` (classes in SoccerNet's order)."""

    half_length_quantiles: dict[int, np.ndarray]  # half -> (Q,) seconds
    quantile_levels: np.ndarray  # (Q,) in [0, 1]
    start_probabilities: np.ndarray  # (17,) class of a half's first event
    first_event_quantiles: np.ndarray  # (Q,) seconds from the half start to its first event
    transitions: np.ndarray  # (17, 17) P(next class | previous class)
    pair_gaps: dict[tuple[int, int], np.ndarray]  # (previous, next) -> (Q,) gap quantiles, s
    previous_gaps: np.ndarray  # (17, Q) gap quantiles by previous class, s (fallback)
    not_shown_rate: np.ndarray  # (17,)
    team_probabilities: np.ndarray  # (17, 3) home, away, not applicable
    same_team: np.ndarray  # (17, 17) P(same team as the previous event with a team)
    events_per_game: np.ndarray  # (17,) mean count per real game

    @property
    def rare_classes(self) -> np.ndarray:
        """Indices of the classes seen less than once per real game (Penalty, Red card, Yellow->red card)."""
        return np.flatnonzero(self.events_per_game < 1.0)


@lru_cache(maxsize=1)
def load_stats(path: Path = STATS_FILE) -> TimelineStats:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    assert tuple(data["classes"]) == CLASSES, "stats.json was computed for another class list"
    gaps = data["gap_quantiles_s"]
    levels = np.asarray(gaps["quantiles"], dtype=np.float64)
    previous = np.array([q if q else [10.0] * len(levels) for q in gaps["by_previous_class"]], dtype=np.float64)
    pairs = {tuple(int(v) for v in key.split(",")): np.asarray(q, dtype=np.float64) for key, q in gaps["by_pair"].items()}
    transitions = np.asarray(data["transition_probabilities"], dtype=np.float64)
    empty = transitions.sum(1) == 0
    transitions[empty] = np.asarray(data["class_counts"], dtype=np.float64) / sum(data["class_counts"])
    return TimelineStats(
        half_length_quantiles={int(h): np.asarray(q, dtype=np.float64) for h, q in data["half_length_quantiles_s"].items()},
        quantile_levels=levels,
        start_probabilities=np.asarray(data["start_probabilities"], dtype=np.float64),
        first_event_quantiles=np.asarray(data["first_event_quantiles_s"], dtype=np.float64),
        transitions=transitions / transitions.sum(1, keepdims=True),
        pair_gaps=pairs,
        previous_gaps=previous,
        not_shown_rate=np.asarray(data["not_shown_rate"], dtype=np.float64),
        team_probabilities=np.asarray(data["team_probabilities"]["by_class"], dtype=np.float64),
        same_team=np.asarray(data["same_team_probability"], dtype=np.float64),
        events_per_game=np.asarray(data["class_counts"], dtype=np.float64) / data["games"],
    )


def _draw_quantile(rng: np.random.Generator, levels: np.ndarray, quantiles: np.ndarray) -> float:
    """One sample of a distribution given by its quantiles (inverse CDF, linear in between)."""
    return float(np.interp(rng.random(), levels, quantiles))


def sample_half_seconds(rng: np.random.Generator, stats: TimelineStats | None = None) -> tuple[float, float]:
    """Lengths of both halves (s), drawn from the real halves' length distribution."""
    stats = stats or load_stats()
    return tuple(round(_draw_quantile(rng, stats.quantile_levels, stats.half_length_quantiles[h]), 2) for h in (1, 2))


def _team(rng: np.random.Generator, stats: TimelineStats, cls: int, previous: tuple[int, str] | None) -> str:
    p = stats.team_probabilities[cls]
    if p[2] >= 0.5:
        return "not applicable"
    if previous is not None:  # real successions: a foul by one side gives the free kick to the other
        same = rng.random() < stats.same_team[previous[0], cls]
        return previous[1] if same else ("away" if previous[1] == "home" else "home")
    return "home" if rng.random() < p[0] / max(p[0] + p[1], 1e-9) else "away"


def sample_half(rng: np.random.Generator, half: int, seconds: float, stats: TimelineStats | None = None,
                rare_boost: float = 1.0) -> Annotations:
    """Events of one half of ``seconds`` length, every position in [0, seconds - 1 s).

    ``rare_boost`` > 1 multiplies the odds of moving to a rare class (less than once per real game)
    at each step: more examples of them in training games; keep 1 for realistic games.
    """
    stats = stats or load_stats()
    transitions = stats.transitions.copy()
    transitions[:, stats.rare_classes] *= rare_boost
    transitions /= transitions.sum(1, keepdims=True)
    end = seconds - 1.0
    t = min(_draw_quantile(rng, stats.quantile_levels, stats.first_event_quantiles), 2.0)
    cls = int(rng.choice(NUM_CLASSES, p=stats.start_probabilities))
    times, classes, teams, visible = [], [], [], []
    last_team: tuple[int, str] | None = None
    while t < end:
        team = _team(rng, stats, cls, last_team)
        if team != "not applicable":
            last_team = (cls, team)
        times.append(t)
        classes.append(cls)
        teams.append(team)
        visible.append(bool(rng.random() >= stats.not_shown_rate[cls]))
        nxt = int(rng.choice(NUM_CLASSES, p=transitions[cls]))
        gaps = stats.pair_gaps.get((cls, nxt), stats.previous_gaps[cls])
        t += max(MIN_GAP_S, _draw_quantile(rng, stats.quantile_levels, gaps))
        cls = nxt
    if classes and classes[0] == CLASS_INDEX["Kick-off"]:
        visible[0] = True  # the broadcast shows the kick-off that opens a half
    position_ms = np.round(np.asarray(times) * 1000).astype(np.int64)
    n = len(classes)
    return Annotations.from_lists([half] * n, position_ms, classes, visible, teams, np.ones(n))


def sample_timeline(rng: np.random.Generator, half_seconds: tuple[float, float],
                    stats: TimelineStats | None = None, rare_boost: float = 1.0) -> Annotations:
    """Events of a whole game (both halves), sorted by half then position."""
    return Annotations.concatenate([sample_half(rng, h, s, stats, rare_boost) for h, s in zip((1, 2), half_seconds)])
