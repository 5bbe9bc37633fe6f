"""Compute the timeline statistics of the synthetic match generator from the real SoccerNet-v2 labels.

Reads ``../shared/data`` (relative to the repository root): ``games.json`` for the half lengths and
every ``Labels-v2.json`` under ``soccernet/`` for the events; writes only aggregate numbers to
``spotting/synth/stats.json`` (no label file is copied).

    python scripts/synth_stats.py [--data ../shared/data] [--out spotting/synth/stats.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spotting.cli import run_cli  # noqa: E402
from spotting.errors import InputError  # noqa: E402
from spotting.selection import find_games  # noqa: E402
from spotting.soccernet import CLASSES, NUM_CLASSES, read_json, read_labels  # noqa: E402

# 5 % steps plus a finer tail: resampling by linear interpolation between quantiles keeps the mean
# gap (and so the event rate) right only when the long tail is resolved
QUANTILES = np.concatenate([np.linspace(0.0, 0.95, 20), [0.97, 0.98, 0.99, 0.995, 1.0]])
MIN_PAIR_GAPS = 25  # a (previous, next) pair needs this many gaps for its own distribution
TEAMS = ("home", "away", "not applicable")


def _quantiles(values: list[float]) -> list[float]:
    return [round(float(q), 2) for q in np.quantile(np.asarray(values, dtype=np.float64), QUANTILES)]


def compute_stats(data_dir: Path) -> dict:
    """All statistics as a JSON-ready dict (see the keys below; classes in SoccerNet's order)."""
    games_file = data_dir / "games.json"
    rows = read_json(games_file)
    half_lengths = {h: [float(r["half_duration_s"][str(h)]) for r in rows] for h in (1, 2)}
    games = find_games(data_dir / "soccernet", require="labels")
    if not games:
        raise InputError(data_dir / "soccernet", "no Labels-v2.json found", "point --data at the shared data folder")

    start_counts = np.zeros(NUM_CLASSES)
    transitions = np.zeros((NUM_CLASSES, NUM_CLASSES))
    pair_gaps: dict[tuple[int, int], list[float]] = {}
    from_gaps: dict[int, list[float]] = {c: [] for c in range(NUM_CLASSES)}
    first_offsets: list[float] = []
    last_gaps: list[float] = []  # from the last event to the end of the half
    class_counts = np.zeros(NUM_CLASSES)
    not_shown = np.zeros(NUM_CLASSES)
    team_counts = np.zeros((NUM_CLASSES, len(TEAMS)))
    same_team = np.zeros((NUM_CLASSES, NUM_CLASSES))
    both_teams = np.zeros((NUM_CLASSES, NUM_CLASSES))
    length_by_game = {r["game"]: r["half_duration_s"] for r in rows}
    for game in games:
        labels = read_labels(game.labels_path)
        for half in (1, 2):
            events = labels.for_half(half)
            order = np.argsort(events.position_ms, kind="stable")
            seconds = events.position_ms[order] / 1000.0
            classes = events.class_index[order]
            teams = events.team[order]
            if len(classes) == 0:
                continue
            class_counts += np.bincount(classes, minlength=NUM_CLASSES)
            not_shown += np.bincount(classes[~events.visible[order]], minlength=NUM_CLASSES)
            for c, t in zip(classes, teams):
                team_counts[c, TEAMS.index(t) if t in TEAMS else 2] += 1
            start_counts[classes[0]] += 1
            first_offsets.append(float(seconds[0]))
            length = float(length_by_game.get(game.name, {}).get(str(half), seconds[-1]))
            last_gaps.append(max(0.0, length - float(seconds[-1])))
            for k in range(1, len(classes)):
                a, b, gap = int(classes[k - 1]), int(classes[k]), float(seconds[k] - seconds[k - 1])
                transitions[a, b] += 1
                pair_gaps.setdefault((a, b), []).append(gap)
                from_gaps[a].append(gap)
                if teams[k - 1] in TEAMS[:2] and teams[k] in TEAMS[:2]:
                    both_teams[a, b] += 1
                    same_team[a, b] += teams[k - 1] == teams[k]

    # Team relation: pair-specific when well supported, else the class-wide "same team" rate.
    row_same = same_team.sum(1) / np.maximum(both_teams.sum(1), 1)
    p_same = np.where(both_teams >= MIN_PAIR_GAPS, same_team / np.maximum(both_teams, 1), row_same[:, None])
    return {
        "source": "scripts/synth_stats.py over the 200 real SoccerNet-v2 games in ../shared/data "
                  f"({len(games)} Labels-v2.json, games.json half lengths); aggregates only",
        "classes": list(CLASSES),
        "games": len(games),
        "half_length_quantiles_s": {str(h): _quantiles(v) for h, v in half_lengths.items()},
        "events_per_game": round(float(class_counts.sum() / len(games)), 2),
        "class_counts": class_counts.astype(int).tolist(),
        "not_shown_rate": np.round(not_shown / np.maximum(class_counts, 1), 4).tolist(),
        "team_probabilities": {"teams": list(TEAMS),
                               "by_class": np.round(team_counts / np.maximum(team_counts.sum(1, keepdims=True), 1), 4).tolist()},
        "same_team_probability": np.round(p_same, 4).tolist(),
        "start_probabilities": np.round(start_counts / start_counts.sum(), 4).tolist(),
        "first_event_quantiles_s": _quantiles(first_offsets),
        "last_gap_quantiles_s": _quantiles(last_gaps),
        "transition_probabilities": np.round(transitions / np.maximum(transitions.sum(1, keepdims=True), 1), 5).tolist(),
        "gap_quantiles_s": {
            "quantiles": QUANTILES.round(3).tolist(),
            "by_previous_class": [_quantiles(from_gaps[c]) if from_gaps[c] else [] for c in range(NUM_CLASSES)],
            "by_pair": {f"{a},{b}": _quantiles(g) for (a, b), g in sorted(pair_gaps.items()) if len(g) >= MIN_PAIR_GAPS},
        },
    }


def _format(stats: dict) -> str:
    """JSON with one line per key, per row of a matrix and per gap pair: diffable and short."""
    def block(value: object, indent: str) -> str:
        if isinstance(value, dict) and value:
            items = [f'{indent} {json.dumps(k)}: {block(v, indent + " ")}' for k, v in value.items()]
            return "{\n" + ",\n".join(items) + f"\n{indent}}}"
        if isinstance(value, list) and value and isinstance(value[0], list):
            return "[\n" + ",\n".join(f"{indent} {json.dumps(row)}" for row in value) + f"\n{indent}]"
        return json.dumps(value)

    return block(stats, "") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "spotting" / "synth" / "stats.json")
    args = parser.parse_args(argv)
    if not (args.data / "games.json").is_file():
        raise InputError(args.data, "no games.json here", "pass --data pointing at the shared data folder")
    stats = compute_stats(args.data)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_format(stats), encoding="utf-8")
    print(f"wrote {args.out}: {stats['games']} games, {stats['events_per_game']} events per game")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
