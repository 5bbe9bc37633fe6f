"""Class sets other than SoccerNet-v2's 17: specifications, label files, and the metrics equal to
SoccerNet's evaluate() given ``framerate`` and ``EVENT_DICTIONARY`` (Ball Action 2023 and 2024 at 25 fps)."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_BALL, EVENT_DICTIONARY_V2

from spotting.analysis import per_game_average_map
from spotting.cli import run_cli
from spotting.datatree import Tree, detect_specifications
from spotting.errors import InputError
from spotting.evaluate import evaluate_folder, main
from spotting.metrics import average_map
from spotting.results import parse_results_file, results_dict
from spotting.soccernet import format_game_time, parse_labels
from spotting.specs import BALL_2023, BALL_2024, SOCCERNET_V2, Specifications, from_checkpoint, recognise, resolve

GAMES = ("england_efl/2019-2020/game A", "england_efl/2019-2020/game B")


def ball_game(spec: Specifications, seed: int, half_s: int = 240) -> tuple[dict, dict]:
    """Dense ball-like events at 25 fps in both halves, some "not shown", and noisy predictions with false alarms."""
    rng = np.random.default_rng(seed)
    annotations, predictions = [], []
    for half in (1, 2):
        t = 0.5
        while t < half_s:
            label = spec.classes[int(rng.integers(0, spec.num_classes))]
            ms = int(t * 25) * 40
            annotations.append({"gameTime": format_game_time(half, ms), "label": label, "position": str(ms),
                                "team": "left", "visibility": "not shown" if rng.random() < 0.1 else "visible"})
            if rng.random() < 0.9:
                shift = int(rng.integers(-30, 30)) * 40
                predictions.append({"gameTime": format_game_time(half, ms), "label": label,
                                    "position": str(max(0, ms + shift)), "half": str(half),
                                    "confidence": f"{rng.uniform(0.2, 1.0):.4f}"})
            t += float(rng.uniform(0.3, 4.0))
        for _ in range(30):
            ms = int(rng.integers(0, half_s * 1000))
            predictions.append({"gameTime": format_game_time(half, ms), "label": spec.classes[int(rng.integers(0, spec.num_classes))],
                                "position": str(ms), "half": str(half), "confidence": f"{rng.uniform(0, 0.7):.4f}"})
    return {"annotations": annotations}, {"predictions": predictions}


def write_set(root: Path, spec: Specifications, seed: int) -> tuple[Path, Path]:
    labels_root, predictions_root = root / "labels", root / "predictions"
    for i, game in enumerate(GAMES):
        labels, predictions = ball_game(spec, seed + i)
        (labels_root / game).mkdir(parents=True)
        (labels_root / game / spec.labels_file).write_text(json.dumps(labels))
        (predictions_root / game).mkdir(parents=True)
        (predictions_root / game / "results_spotting.json").write_text(json.dumps(predictions))
    return labels_root, predictions_root


def official(labels_root: Path, predictions: Path, spec: Specifications, metric: str) -> dict:
    with contextlib.redirect_stderr(io.StringIO()):
        rate = int(spec.framerate) if spec.framerate.is_integer() else spec.framerate  # np.zeros needs an int size
        return official_evaluate(str(labels_root), str(predictions), dataset=None, framerate=rate,
                                 label_files=spec.labels_file, EVENT_DICTIONARY=spec.event_dictionary(), metric=metric)


def test_built_in_sets_are_those_of_the_soccernet_package():
    assert SOCCERNET_V2.class_index == EVENT_DICTIONARY_V2 and SOCCERNET_V2.framerate == 2
    assert BALL_2023.class_index == EVENT_DICTIONARY_BALL and BALL_2023.framerate == 25
    assert BALL_2023.labels_file == BALL_2024.labels_file == "Labels-ball.json" and BALL_2023.metric == "at1"
    assert BALL_2024.num_classes == 12 and BALL_2024.classes[:2] == ("PASS", "DRIVE")
    assert Specifications.from_dict(BALL_2024.to_dict()) == BALL_2024
    # A checkpoint from before class lists were saved is SoccerNet-v2; another width has to say its classes.
    assert from_checkpoint(None, 17) == SOCCERNET_V2 and from_checkpoint(BALL_2023.to_dict(), 2) == BALL_2023
    with pytest.raises(ValueError):
        from_checkpoint(None, 2)


def test_recognise_and_resolve(tmp_path):
    assert recognise({"PASS": 40, "DRIVE": 30}) == BALL_2023.replace(labels_file=None)
    assert recognise(["PASS", "SHOT"]).name == "ball-2024"
    assert recognise({"Goal": 3, "Bicycle kick": 1}).name == "soccernet-v2"  # the odd label is the reader's to name
    assert recognise(["Bicycle kick"]) is None and recognise([]) is None
    classes = tmp_path / "classes.txt"
    classes.write_text("# my set\nKick\n\nHeader\n")
    custom = resolve(str(classes), labels_file="Labels-mine.json", framerate=5)
    assert custom.classes == ("Kick", "Header") and custom.labels_file == "Labels-mine.json" and custom.framerate == 5
    assert resolve("ball-2024") == BALL_2024 and resolve(None, framerate=1.0).framerate == 1.0
    classes.write_text("Kick\nKick\n")
    with pytest.raises(InputError, match="repeat"):
        resolve(str(classes))
    with pytest.raises(InputError, match="unknown class set"):
        resolve("ball-2025")


def test_labels_and_results_of_another_set():
    labels, predictions = ball_game(BALL_2024, 1)
    events = parse_labels(labels, "Labels-ball.json", classes=BALL_2024)
    assert events.class_index.max() < 12 and len(events) == len(labels["annotations"])
    with pytest.raises(InputError, match="unknown label '.*SoccerNet-v2 .17 classes"):
        parse_labels(labels, "Labels-ball.json")  # read as SoccerNet-v2: PASS is no class of it
    skipped = Counter()
    assert len(parse_labels(labels, "x", unknown="skip", skipped=skipped)) == 0 and skipped["PASS"] > 0
    read = parse_results_file(predictions, "r.json", classes=BALL_2024, framerate=25).events
    again = parse_results_file(results_dict(read, "g", classes=BALL_2024, framerate=25), "r.json",
                               classes=BALL_2024, framerate=25).events
    np.testing.assert_array_equal(np.sort(read.position_ms), np.sort(again.position_ms))
    assert {p["label"] for p in results_dict(read, classes=BALL_2024)["predictions"]} <= set(BALL_2024.classes)


@pytest.mark.parametrize("spec", [BALL_2023, BALL_2024], ids=["ball-2023", "ball-2024"])
def test_ball_sets_at_25_fps_equal_the_official_evaluator(tmp_path, spec):
    labels_root, predictions_root = write_set(tmp_path, spec, 7)
    tree = Tree(labels_root)
    found, _ = detect_specifications(tree)
    assert found == spec  # recognised from the label names, rate and file name included
    for metric in ("at1", "tight", "loose") if spec is BALL_2023 else ("at1", "tight"):  # official loose: slow
        ours = evaluate_folder(labels_root, predictions_root, metric=metric)
        expected = official(labels_root, predictions_root, spec, metric)
        for key in ("a_mAP", "a_mAP_visible", "a_mAP_unshown"):
            assert abs(getattr(ours, key) - expected[key]) <= 1e-12, (metric, key)
        np.testing.assert_allclose(ours.a_mAP_per_class, np.asarray(expected["a_mAP_per_class"], float), atol=1e-12)
        assert ours.a_mAP_per_class.shape == (spec.num_classes,)
    # Per game: each game alone equals average_map on it alone (pseudo-classes game × C).
    data = [parse_labels(json.loads((labels_root / g / spec.labels_file).read_text()), classes=spec) for g in GAMES]
    preds = [parse_results_file(json.loads((predictions_root / g / "results_spotting.json").read_text()),
                                classes=spec, framerate=25).events for g in GAMES]
    per_game = per_game_average_map(data, preds, "tight", 25.0, spec.num_classes)
    for g in range(2):
        alone = average_map([data[g]], [preds[g]], "tight", 25.0, spec.num_classes)
        assert per_game.a_mAP[g] == alone.a_mAP


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    status = run_cli(main, argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_cli_takes_the_set_from_the_data_and_zips(tmp_path, capsys):
    labels_root, predictions_root = write_set(tmp_path, BALL_2024, 3)
    zipped = tmp_path / "results_spotting_test.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        for game in GAMES:
            archive.write(predictions_root / game / "results_spotting.json", f"{game}/results_spotting.json")
    status, out, err = run(["--soccernet-dir", str(labels_root), "--predictions-dir", str(zipped), "--json"], capsys)
    assert status == 0, err
    result = json.loads(out)
    assert result["metric"] == "at1" and result["classes"] == list(BALL_2024.classes) and result["framerate"] == 25
    assert abs(result["a_mAP"] - official(labels_root, zipped, BALL_2024, "at1")["a_mAP"]) <= 1e-12
    assert "Ball Action Spotting 2024" in err
    status, out, _ = run(["--soccernet-dir", str(labels_root), "--predictions-dir", str(predictions_root)], capsys)
    assert status == 0 and "PLAYER SUCCESSFUL TA" in out and "at1" in out.splitlines()[0]
    # Flags override the data: read as 2023's set, the other 10 classes are unknown labels.
    status, _, err = run(["--soccernet-dir", str(labels_root), "--predictions-dir", str(predictions_root),
                          "--classes", "ball-2023"], capsys)
    assert status == 2 and "unknown label" in err and "ball-2024" in err


def test_skip_unknown_that_leaves_nothing_says_so(tmp_path, capsys):
    labels_root, predictions_root = write_set(tmp_path, BALL_2023, 5)
    status, out, err = run(["--soccernet-dir", str(labels_root), "--predictions-dir", str(predictions_root),
                            "--classes", "soccernet-v2", "--labels-file", "Labels-ball.json", "--skip-unknown"], capsys)
    assert status == 2 and out == "" and "left no labels to score" in err and "'PASS'" in err
    assert len(err.strip().splitlines()) == 1


def test_skip_unknown_predictions_that_leave_nothing_say_so(tmp_path, capsys):
    labels_root, predictions_root = write_set(tmp_path, BALL_2023, 6)
    for game in GAMES:  # predictions written with another set's names
        path = predictions_root / game / "results_spotting.json"
        data = json.loads(path.read_text())
        for p in data["predictions"]:
            p["label"] = "Goal"
        path.write_text(json.dumps(data))
    status, out, err = run(["--soccernet-dir", str(labels_root), "--predictions-dir", str(predictions_root),
                            "--skip-unknown"], capsys)
    assert status == 2 and out == "" and "left no predictions to score" in err and "'Goal'" in err
