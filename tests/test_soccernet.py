"""SoccerNet data layer: real Labels-v2.json of 200 games, features, game discovery, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

from spotting.errors import InputError
from spotting.results import read_results, results_dict, write_results
from spotting.selection import find_games
from spotting.soccernet import CLASSES, Annotations, load_features, parse_labels, read_labels


def test_classes_come_from_soccernet() -> None:
    assert len(CLASSES) == 17
    assert all(EVENT_DICTIONARY_V2[name] == i for i, name in enumerate(CLASSES))


def test_real_labels_of_200_games_match_games_json(shared_data: Path) -> None:
    rows = json.loads((shared_data / "games.json").read_text())
    assert len(rows) == 200
    total = inside = 0
    for row in rows:
        labels = read_labels(shared_data / "soccernet" / row["game"] / "Labels-v2.json")
        assert len(labels) == row["num_annotations"], row["game"]
        assert set(np.unique(labels.half)) <= {1, 2}
        for half in (1, 2):  # a few real events lie past the video's end (the evaluator clips them)
            mine = labels.for_half(half)
            inside += int((mine.position_ms <= row["half_duration_s"][str(half)] * 1000).sum())
        total += len(labels)
    assert total == 43_998
    assert inside / total > 0.99


def test_split_discovery_uses_soccernet_lists(shared_data: Path) -> None:
    test_games = find_games(shared_data / "soccernet", "test", require="labels")
    valid_games = find_games(shared_data / "soccernet", "valid", require="labels")
    assert len(test_games) == 100 and len(valid_games) == 100
    assert not {g.name for g in test_games} & {g.name for g in valid_games}
    assert len(find_games(shared_data / "soccernet")) == 200  # custom walk finds all
    assert find_games(shared_data / "soccernet", "test", require="features") == []


def test_visibility_team_and_positions_parsed() -> None:
    data = {"annotations": [
        {"gameTime": "2 - 45:01", "label": "Goal", "position": "2701000", "team": "home", "visibility": "not shown"},
        {"gameTime": "1 - 00:12", "label": "Corner", "team": "away", "visibility": "visible"},
    ]}
    labels = parse_labels(data)
    assert labels.half.tolist() == [2, 1]
    assert labels.position_ms.tolist() == [2_701_000, 12_000]  # second precision when position is absent
    assert labels.visible.tolist() == [False, True]
    assert labels.class_index.tolist() == [CLASSES.index("Goal"), CLASSES.index("Corner")]


@pytest.mark.parametrize("bad,needle", [
    ({"annotations": [{"gameTime": "1 - 00:01", "label": "Dribble", "position": "1000"}]}, "unknown label 'Dribble'"),
    ({"annotations": [{"gameTime": "3 - 00:01", "label": "Goal", "position": "1000"}]}, "gameTime"),
    ({"annotations": [{"gameTime": "1 - 00:01", "label": "Goal", "position": "soon"}]}, "bad position"),
    ({"annotation": []}, "no 'annotations' list"),
])
def test_bad_labels_name_the_file(tmp_path: Path, bad: dict, needle: str) -> None:
    path = tmp_path / "Labels-v2.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(InputError) as error:
        read_labels(path)
    assert needle in str(error.value) and str(path) in str(error.value)


def test_malformed_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "Labels-v2.json"
    path.write_text('{"annotations": [')
    with pytest.raises(InputError, match="malformed JSON"):
        read_labels(path)


def test_unknown_labels_can_be_skipped_like_the_official_evaluator() -> None:
    data = {"annotations": [{"gameTime": "1 - 00:01", "label": "Dribble", "position": "1000"},
                            {"gameTime": "1 - 00:02", "label": "Goal", "position": "2000"}]}
    assert len(parse_labels(data, unknown="skip")) == 1


@pytest.mark.parametrize("array,needle", [
    (np.zeros((10,), np.float32), "expected (frames, dim)"),
    (np.zeros((0, 8), np.float32), "0 frames"),
    (np.array([[1.0, np.nan]], np.float32), "NaN or Inf"),
    (np.array([[1.0, np.nan]], np.float16), "NaN or Inf"),  # float16 has its own fast test
    (np.array([[np.inf, 0.0], [0.0, 1.0]], np.float16), "1 frame(s) contain NaN or Inf"),
    (np.array([[0.0, 1.0], [-np.inf, 0.0]], ">f2"), "NaN or Inf"),  # big-endian
    (np.zeros((4, 8), np.int32), "dtype"),
])
def test_bad_features(tmp_path: Path, array: np.ndarray, needle: str) -> None:
    path = tmp_path / "1_feat.npy"
    np.save(path, array)
    with pytest.raises(InputError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        load_features(path)


@pytest.mark.parametrize("dtype", ["<f2", ">f2", "<f4"])
def test_finite_extreme_features_load(tmp_path: Path, dtype: str) -> None:
    extreme = np.finfo(np.dtype(dtype)).max
    array = np.array([[extreme, -extreme], [np.finfo(np.dtype(dtype)).tiny, 0.0]], dtype)
    np.save(tmp_path / "1_feat.npy", array)
    np.testing.assert_array_equal(load_features(tmp_path / "1_feat.npy"), array)
    np.save(tmp_path / "2_feat.npy", np.zeros((4, 0), dtype))  # no values: nothing non-finite (the dim check rejects it)
    assert load_features(tmp_path / "2_feat.npy").shape == (4, 0)


def test_truncated_and_wrong_dim_features(tmp_path: Path) -> None:
    path = tmp_path / "1_feat.npy"
    np.save(path, np.ones((100, 8), np.float32))
    with pytest.raises(InputError, match="dimension 8, the model expects 512"):
        load_features(path, dim=512)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_features(path)
    with pytest.raises(InputError, match="not found"):
        load_features(tmp_path / "missing.npy")


def test_results_round_trip_and_official_strings(tmp_path: Path) -> None:
    events = Annotations.from_lists([1, 2], [61500, 5], [13, 2], [True, True], ["", ""], [0.25, 0.9])
    path = write_results(tmp_path / "results_spotting.json", events, "league/season/game")
    data = json.loads(path.read_text())
    assert data["UrlLocal"] == "league/season/game"
    assert data["predictions"][0] == {"gameTime": "1 - 01:01", "label": "Corner", "position": "61500", "half": "1",
                                      "confidence": "0.25"}
    back = read_results(path)
    assert back.position_ms.tolist() == [61500, 5] and back.confidence.tolist() == [0.25, 0.9]
    with pytest.raises(InputError, match="already exists"):
        write_results(path, events)
    numeric = results_dict(events)
    for p in numeric["predictions"]:
        p["position"], p["confidence"], p["half"] = int(p["position"]), float(p["confidence"]), int(p["half"])
    (tmp_path / "numeric.json").write_text(json.dumps(numeric))
    assert read_results(tmp_path / "numeric.json").class_index.tolist() == [13, 2]


def test_real_netvlad_results_parse(shared_data: Path) -> None:
    files = sorted((shared_data / "predictions" / "netvlad_v2").glob("*/*/*/results_spotting.json"))
    assert len(files) == 100
    events = read_results(files[0])
    assert len(events) > 0 and ((events.confidence >= 0) & (events.confidence <= 1)).all()


def test_every_real_game_name_keeps_home_team_score_and_away_team(shared_data):
    """SoccerNet folders read "<date> - <time> <Home> <h> - <a> <Away>": the score itself holds " - ", so the
    title must not be cut there ("1 Arsenal (2015-05-17)" lost the home team and the score)."""
    import json
    import re

    from spotting.soccernet import game_title, league_and_season

    rows = json.loads((shared_data / "games.json").read_text())
    assert game_title("england_epl/2014-2015/2015-05-17 - 18-00 Manchester United 1 - 1 Arsenal") == \
        "Manchester United 1 - 1 Arsenal (2015-05-17)"
    for row in rows:
        folder = row["game"].split("/")[-1]
        title = game_title(row["game"])
        assert re.fullmatch(r".+ \d+ - \d+ .+ \(\d{4}-\d{2}-\d{2}\)", title), title
        assert title.startswith(folder[19:]) and folder[:10] in title  # "YYYY-MM-DD - HH-MM " is 19 characters
        assert league_and_season(row["game"]) == tuple(row["game"].split("/")[:2])
    barcelona = [r["game"] for r in rows if "Barcelona" in r["game"]]
    assert barcelona and all("Barcelona" in game_title(g) for g in barcelona)


@pytest.mark.parametrize("annotation, problem", [
    ({"gameTime": "1 - 00:10", "label": ["Goal"], "position": "10000"}, "label is a list"),
    ({"gameTime": "1 - 00:10", "label": 7, "position": "10000"}, "label is a int"),
    ({"gameTime": "x" * 5000, "label": "Goal", "position": "10000"}, "is not 'H - MM:SS'"),
])
def test_labels_of_the_wrong_kind_are_named_in_one_short_line(annotation, problem):
    from spotting.errors import InputError
    from spotting.soccernet import parse_labels

    with pytest.raises(InputError) as error:
        parse_labels({"annotations": [annotation]}, "game/Labels-v2.json", unknown="skip")
    message = str(error.value)
    assert problem in message and "game/Labels-v2.json" in message and len(message) < 300


def test_a_split_file_is_read_from_the_current_folder_else_the_root(tmp_path: Path, monkeypatch) -> None:
    """``--soccernet-dir mine --train-split train.txt`` reads mine/train.txt when the current folder has none;
    an unknown split says both places a file was looked for."""
    root = tmp_path / "mine"
    for name in ("a", "b"):
        (root / "l" / "s" / name).mkdir(parents=True)
        for half in (1, 2):
            np.save(root / "l" / "s" / name / f"{half}_f.npy", np.zeros((3, 2), np.float32))
    (root / "train.txt").write_text("l/s/a\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert [g.name for g in find_games(root, "train.txt", features="f.npy")] == ["l/s/a"]
    (elsewhere / "train.txt").write_text("l/s/b\n")  # one in the current folder comes first
    assert [g.name for g in find_games(root, "train.txt", features="f.npy")] == ["l/s/b"]
    with pytest.raises(InputError) as error:
        find_games(root, "valid.txt", features="f.npy")
    assert str(elsewhere / "valid.txt") in str(error.value) and str(root / "valid.txt") in str(error.value)


def test_missing_features_name_the_other_features_the_game_folder_has(tmp_path: Path) -> None:
    """A game extracted with EfficientNetLite0 and a checkpoint trained on synthetic512: not "download it" but
    what is there and the two ways out."""
    np.save(tmp_path / "1_EfficientNetLite0.npy", np.zeros((3, 2), np.float32))
    with pytest.raises(InputError) as error:
        load_features(tmp_path / "1_synthetic512.npy")
    message = str(error.value)
    assert "1_EfficientNetLite0.npy" in message and "download" not in message
    assert "checkpoint trained on EfficientNetLite0.npy" in message and "extract synthetic512.npy" in message
    with pytest.raises(InputError, match="download it"):  # nothing else there: the download advice stands
        load_features(tmp_path / "2_synthetic512.npy")
