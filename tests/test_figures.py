"""The page's pure parts: timeline/PR figures, curve decimation, event table, filters, CSV, jumps, URL state."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from spotting.soccernet import CLASS_INDEX, CLASSES, Annotations
from spotting.postprocess import apply_thresholds
from spotting.postprocess import per_class_values
from spotting.ui.state import decode_class_thresholds, encode_class_thresholds
from spotting.ui.events import (SourceEvents, apply_filter, download_name, event_filters, events_csv, events_table,
                                jump_targets, neighbour, next_time, plural)
from spotting.ui.figures import (GT_COLOR, SOURCE_COLORS, Curve, Lane, clock, decimate_curve, figure_dict,
                                 minute_ticks, pr_curve_figure, timeline_figure)

GOAL, CORNER, FOUL = CLASS_INDEX["Goal"], CLASS_INDEX["Corner"], CLASS_INDEX["Foul"]


def events(half, seconds, classes, confidence=None, visible=None) -> Annotations:
    n = len(seconds)
    return Annotations.from_lists(half if isinstance(half, list) else [half] * n,
                                  (np.asarray(seconds, float) * 1000).astype(int), classes,
                                  [True] * n if visible is None else visible, [""] * n,
                                  [1.0] * n if confidence is None else confidence)


def traces(figure: dict, name_part: str) -> list[dict]:
    return [t for t in figure["data"] if name_part in t.get("name", "")]


def drawn(figure: dict, name: str) -> dict:
    """The trace that draws ``name``'s points (legend entries hold none)."""
    return next(t for t in figure["data"] if t["name"] == name and t["x"] != [None])


def test_clock_formats_scalars_and_arrays():
    assert clock(0) == "00:00"
    assert clock(61.9) == "01:01"
    assert clock(-3) == "00:00"
    assert list(clock(np.array([5.0, 2700.0]))) == ["00:05", "45:00"]
    assert len(clock(np.zeros(0))) == 0


def test_decimate_keeps_peaks_and_order():
    rng = np.random.default_rng(1)
    times = np.arange(5400) / 2.0
    values = rng.random(5400) * 0.3
    values[1234] = 0.97  # a single-frame peak must survive
    values[4000] = 0.0
    t, v = decimate_curve(times, values, max_points=600)
    assert len(t) == len(v) <= 600
    assert v.max() == pytest.approx(0.97) and 617.0 in t
    assert v.min() == 0.0
    assert np.all(np.diff(t) >= 0)
    # every kept point is a real sample
    assert np.allclose(values[(t * 2).astype(int)], v)


def test_decimate_leaves_short_curves_alone():
    t, v = decimate_curve(np.arange(10.0), np.linspace(0, 1, 10), max_points=100)
    assert np.array_equal(v, np.linspace(0, 1, 10))


def test_minute_ticks_are_round_and_cover_the_half():
    values, text = minute_ticks(2700.0)
    assert values[0] == 0 and values[-1] == 2700 and text[1] == "05:00"
    assert len(values) <= 13
    short_values, _ = minute_ticks(300.0)
    assert short_values[1] == 30.0


def test_timeline_lanes_follow_class_filter_and_order():
    labels = events(1, [10, 20, 30], [GOAL, CORNER, FOUL])
    lane = Lane("model", events(1, [11, 50], [GOAL, FOUL], [0.9, 0.2]))
    figure = timeline_figure(half=1, half_duration_s=2700, classes=[FOUL, GOAL], labels=labels, lanes=[lane])
    assert figure["layout"]["yaxis"]["ticktext"] == ["Foul", "Goal"]  # lanes in the order asked, top first
    drawn = {x for t in figure["data"] for x in t["x"]}
    assert 20.0 not in drawn  # the Corner label is filtered out
    assert {10.0, 30.0, 11.0, 50.0} <= drawn
    low, high = figure["layout"]["xaxis"]["range"]
    assert -30 <= low < 0 and 2700 < high <= 2730  # the whole half, with a small margin for events at 00:00
    go.Figure(figure)  # a valid plotly figure (plotly validates every property here)


def test_ground_truth_visible_and_unshown_are_styled_apart():
    labels = events(1, [10, 20], [GOAL, GOAL], visible=[True, False])
    figure = timeline_figure(half=1, half_duration_s=600, classes=[GOAL], labels=labels)
    visible, unshown = drawn(figure, "ground truth"), drawn(figure, "not shown")
    assert visible["x"] == [10.0] and unshown["x"] == [20.0]
    assert visible["marker"]["opacity"] > unshown["marker"]["opacity"]  # a faint tick for "not shown"


def test_ground_truth_hover_has_no_confidence():
    """#14: hovering a ground truth said "confidence 1" (labels carry confidence 1.0 internally)."""
    labels = events(1, [10], [GOAL])
    lane = Lane("m", events(1, [11, 300], [GOAL, GOAL], [0.8, 0.4]), np.array([True, False]),
                missed=events(1, [], []))
    figure = timeline_figure(half=1, half_duration_s=600, classes=[GOAL], labels=labels, lanes=[lane],
                             label_status=["found by m"])
    truth = drawn(figure, "ground truth")
    assert "confidence" not in truth["hovertemplate"] and truth["customdata"][0][2] == "found by m"
    correct = drawn(figure, "m: correct")
    assert "confidence" in correct["hovertemplate"] and correct["customdata"][0][3] == "0.80"


def test_predictions_sized_by_confidence_and_shaped_by_match():
    labels = events(1, [10], [GOAL])
    predictions = events(1, [11, 200, 300], [GOAL, GOAL, GOAL], [0.9, 0.3, 0.6])
    lane = Lane("model", predictions, matched=np.array([True, False, False]), missed=events(1, [], []))
    figure = timeline_figure(half=1, half_duration_s=600, classes=[GOAL], labels=labels, lanes=[lane])
    correct, wrong = drawn(figure, "model: correct"), drawn(figure, "model: false alarm")
    assert correct["x"] == [11.0] and wrong["x"] == [200.0, 300.0]
    assert correct["marker"]["symbol"] == "circle" and wrong["marker"]["symbol"] == "circle-open"
    assert correct["marker"]["color"] == wrong["marker"]["color"] == SOURCE_COLORS[0]  # the source's colour
    sizes = wrong["marker"]["size"]
    assert sizes[0] < sizes[1]  # 0.3 < 0.6 confidence → smaller marker
    assert wrong["marker"]["opacity"][0] < wrong["marker"]["opacity"][1]
    assert not traces(figure, "missed")  # the only label was found
    legend = [t["name"] for t in figure["data"] if t.get("showlegend", True)]
    assert legend == ["model", "ground truth", "correct", "false alarm"]  # each shape once, then nothing twice


def test_each_source_has_its_own_colour_lane_and_misses():
    """#14: "missed" was drawn for the first source only, and a second model was drawn as squares in the same
    green / red as the first."""
    labels = events(1, [10, 100, 200], [GOAL, GOAL, GOAL])
    a = Lane("a", events(1, [11, 101], [GOAL, GOAL]), np.array([True, True]),
             missed=labels.select(np.array([False, False, True])))
    b = Lane("b", events(1, [12], [GOAL]), np.array([True]), missed=labels.select(np.array([False, True, True])))
    figure = timeline_figure(half=1, half_duration_s=600, classes=[GOAL], labels=labels, lanes=[a, b])
    colours = {name: drawn(figure, f"{name}: correct")["marker"]["color"] for name in "ab"}
    assert colours["a"] != colours["b"] and GT_COLOR not in colours.values()
    assert drawn(figure, "a: missed")["x"] == [200.0] and drawn(figure, "b: missed")["x"] == [100.0, 200.0]
    for name in "ab":
        assert drawn(figure, f"{name}: missed")["marker"]["color"] == colours[name]
        assert drawn(figure, f"{name}: missed")["y"][0] == drawn(figure, f"{name}: correct")["y"][0]  # its own row
    ya, yb = drawn(figure, "a: correct")["y"][0], drawn(figure, "b: correct")["y"][0]
    assert -0.5 < yb < ya < 0.5  # separate sub-rows of the class lane
    assert [t["legendgroup"] for t in figure["data"] if t["name"] in ("a", "b")] == ["a", "b"]  # a click hides one


def test_curves_are_rows_sharing_the_time_axis():
    curve = Curve(GOAL, np.arange(0, 600, 0.5), np.full(1200, 0.4))
    figure = timeline_figure(half=2, half_duration_s=600, classes=[GOAL], curves=[curve, Curve(CORNER, curve.times_s,
                                                                                               curve.values)])
    layout = figure["layout"]
    assert layout["xaxis"]["matches"] == "x3" and layout["xaxis2"]["matches"] == "x3"  # zoom/pan move all rows
    assert "matches" not in layout["xaxis3"] and layout["xaxis"]["showticklabels"]  # ticks under the lanes
    domains = [layout[k]["domain"] for k in ("yaxis", "yaxis2", "yaxis3")]
    assert domains[0][0] > domains[1][1] and domains[1][0] > domains[2][1] >= 0  # rows stacked, no overlap
    lines = [t for t in figure["data"] if t["mode"] == "lines"]
    assert [t["name"] for t in lines] == ["Goal", "Corner"]
    assert lines[0]["yaxis"] == "y2" and lines[1]["yaxis"] == "y3"
    go.Figure(figure)
    json.dumps(figure_dict(figure))  # plain JSON for the player component


def test_pr_curve_figure_has_one_curve_per_source_and_operating_points():
    figure = pr_curve_figure([("a", np.array([0, 0.5]), np.array([1, 0.8])), ("b", np.array([0.1]), np.array([0.5]))],
                             "Goal", [("a", 0.5, 0.8)])
    assert len(figure.data) == 3 and figure.data[2].x == (0.5,)


def test_thresholds_per_class_override_the_global_one():
    candidates = events(1, [1, 2, 3, 4], [GOAL, GOAL, CORNER, CORNER], [0.4, 0.8, 0.4, 0.8])
    kept = apply_thresholds(candidates, 0.5, {CORNER: 0.3})
    assert sorted(kept.position_ms.tolist()) == [2000, 3000, 4000]
    assert per_class_values(0.5, {CORNER: 0.3})[CORNER] == 0.3


def test_event_table_rows_status_and_filter():
    labels = events([1, 1, 2], [10, 50, 10], [GOAL, GOAL, GOAL], visible=[True, False, True])
    predictions = events([1, 1, 2], [11, 300, 12], [GOAL, FOUL, GOAL], [0.9, 0.4, 0.7])
    source = SourceEvents("m", predictions, matched=np.array([True, False, True]),
                          label_matched=np.array([True, False, True]))
    table = events_table([source], labels, half=1, classes=[GOAL, FOUL])
    assert list(table["time"]) == ["00:11", "05:00"]
    assert list(table["status"]) == ["✓ matched", "✗ false alarm"]
    only_goal = events_table([source], labels, half=1, classes=[GOAL], include_labels=True)
    assert set(only_goal["class"]) == {"Goal"}
    missed = only_goal[only_goal["source"] == "ground truth"]
    assert list(missed["status"]) == ["found by m", "missed by m (not shown)"]
    assert missed["confidence"].isna().all()  # ground truth has no confidence
    assert list(only_goal["seconds"]) == sorted(only_goal["seconds"])


def two_models():
    """Labels at 10 s (half 1), 100 s (half 1) and 50 s (half 2); A finds 10 and 50, B finds 10 only."""
    labels = events([1, 1, 2], [10, 100, 50], [GOAL, GOAL, GOAL])
    a = SourceEvents("A", events([1, 2, 1], [11, 51, 400], [GOAL, GOAL, GOAL], [0.9, 0.8, 0.7]),
                     matched=np.array([True, True, False]), label_matched=np.array([True, False, True]),
                     prediction_label=np.array([0, 2, -1]))
    b = SourceEvents("B", events([1], [12], [GOAL], [0.6]), matched=np.array([True]),
                     label_matched=np.array([True, False, False]), prediction_label=np.array([0]))
    return labels, a, b


def test_found_by_a_missed_by_b_and_the_reverse_filter_table_timeline_and_jumps():
    labels, a, b = two_models()
    codes = [f.code for f in event_filters(["A", "B"], has_labels=True)]
    assert {"all", "fa:A", "miss:B", "vs:A|B", "vs:B|A"} <= set(codes)
    kept = apply_filter("vs:A|B", [a, b], labels)
    assert kept.labels.tolist() == [False, False, True]  # found by A, missed by B: the half-2 Goal at 50 s
    assert kept.missed[1].tolist() == [False, False, True] and not kept.missed[0].any()
    assert kept.predictions[0].tolist() == [False, True, False] and not kept.predictions[1].any()  # A's find
    table = events_table([a, b], labels, half=2, classes=[GOAL], kept=kept)
    assert list(table["source"]) == ["ground truth", "A"] and table["status"].iloc[0] == "found by A · missed by B"
    assert events_table([a, b], labels, half=1, classes=[GOAL], kept=kept).empty
    assert jump_targets([a, b], labels, kept, [GOAL]) == [(2, 50.0)]
    reverse = apply_filter("vs:B|A", [a, b], labels)
    assert not reverse.labels.any()  # B finds nothing A misses
    assert apply_filter("vs:A|nobody", [a, b], labels).labels.all()  # an unknown filter (a stale link) shows all
    false_alarms = apply_filter("fa:A", [a, b], labels)
    assert jump_targets([a, b], labels, false_alarms, [GOAL]) == [(1, 400.0)]
    misses = apply_filter("miss:A", [a, b], labels)
    assert jump_targets([a, b], labels, misses, [GOAL]) == [(1, 100.0)]


def test_jumps_move_on_to_the_other_half_and_wrap():
    """#14: next / previous false alarm and miss stopped at the end of a half."""
    targets = [(1, 100.0), (1, 2000.0), (2, 30.0)]
    assert neighbour(targets, 1, 2000.0, +1) == (2, 30.0)  # past the last of half 1: the first of half 2
    assert neighbour(targets, 2, 10.0, -1) == (1, 2000.0)  # before the first of half 2: back into half 1
    assert neighbour(targets, 2, 30.0, +1) == (1, 100.0)  # the end wraps to the start
    assert neighbour(targets, 1, 0.0, -1) == (2, 30.0)
    assert neighbour(targets, 1, 100.2, +1) == (1, 2000.0)  # standing on one goes on to the next
    assert neighbour([], 1, 0.0, +1) is None


def test_plural_rules():
    """#14: "1 false alarms"."""
    assert plural(1, "false alarm") == "1 false alarm" and plural(2, "false alarm") == "2 false alarms"
    assert plural(0, "event") == "0 events" and plural(1, "match", "matches") == "1 match"
    assert plural(1234, "row") == "1,234 rows"


def test_events_csv_has_every_source_and_half():
    a = SourceEvents("a", events([1, 2], [5, 6], [GOAL, CORNER], [0.5, 0.6]), matched=np.array([True, False]))
    b = SourceEvents("b", events(1, [7], [FOUL], [0.7]))
    table = pd.read_csv(io.BytesIO(events_csv([a, b])))
    assert len(table) == 3 and set(table["source"]) == {"a", "b"}
    assert table.loc[table["class"] == "Corner", "matched"].item() == "no"
    assert table.loc[table["class"] == "Corner", "status"].item() == "false alarm"
    assert table.loc[table["source"] == "b", "position_ms"].item() == 7000


def test_events_csv_can_include_the_ground_truth_each_source_missed():
    labels, a, b = two_models()
    plain = pd.read_csv(io.BytesIO(events_csv([a, b], labels)))
    assert "missed" not in set(plain["status"])
    table = pd.read_csv(io.BytesIO(events_csv([a, b], labels, include_missed=True)))
    missed = table[table["status"] == "missed"]
    assert sorted(zip(missed["source"], missed["half"], missed["position_ms"])) == [
        ("A", 1, 100_000), ("B", 1, 100_000), ("B", 2, 50_000)]
    assert missed["confidence"].isna().all()


def test_downloads_carry_the_games_name():
    game = "england_epl/2015-2016/2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea"
    assert download_name(game, "events.csv") == "2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea_events.csv"
    assert download_name("demo", "results_spotting.json") == "demo_results_spotting.json"
    assert download_name('a/b:c*?"', "events.csv") == "b_c____events.csv"  # no character a file system refuses


def test_next_time_skips_the_current_event_and_wraps():
    times = np.array([30.0, 10.0, 20.0])
    assert next_time(times, 0.0) == 10.0
    assert next_time(times, 10.0) == 20.0  # standing on an event goes to the next one
    assert next_time(times, 35.0) == 10.0  # wraps to the first
    assert next_time(np.zeros(0), 3.0) is None


def test_class_thresholds_round_trip_through_the_url():
    overrides = {GOAL: 0.3, CORNER: 0.45}
    text = encode_class_thresholds(overrides)
    assert decode_class_thresholds(text) == overrides
    assert decode_class_thresholds("Goal:abc,Nope:0.2,Foul:7") == {FOUL: 1.0}
    assert CLASSES[GOAL] in text


def test_predictions_outside_the_half_are_drawn_at_its_edges_as_clipped():
    """Real files hold predictions before the half's start (fusion_2021: 66) and after its end: they are drawn
    at 0:00 / at the end with open triangles pointing out of the half, their hover giving the real time."""
    events = Annotations.from_lists([1, 1, 1], [-1000, 5000, 3_000_000], [0, 1, 2], [True] * 3, [""] * 3, [0.5, 0.6, 0.7])
    figure = timeline_figure(half=1, half_duration_s=2700.0, classes=list(range(17)),
                             lanes=[Lane("m", events, np.array([False, True, False]))])
    clipped = [t for t in figure["data"] if "outside the half" in t["name"]]
    assert len(clipped) == 1
    trace = clipped[0]
    assert trace["x"] == [0.0, 2700.0]
    assert list(trace["marker"]["symbol"]) == ["triangle-left-open", "triangle-right-open"]
    assert [row[1] for row in trace["customdata"]] == ["-00:01", "50:00"]
    inside = [x for t in figure["data"] if "outside" not in t["name"] for x in t["x"] if x is not None]
    assert inside == [5.0]
