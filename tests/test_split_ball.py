"""The split page on Ball Action Spotting data: class set, rate and metric from the label files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from spotting.evaluate import evaluate_folder
from spotting.specs import BALL_2023
from spotting.synth.ball import generate_ball_game

ROOT = Path(__file__).resolve().parents[1]
SPLIT_PAGE = str(ROOT / "spotting" / "ui" / "split_page.py")
GAMES = ("england_efl/2019-2020/2019-10-01 - Reading - Fulham", "england_efl/2019-2020/2019-10-01 - Stoke City - Huddersfield Town")


@pytest.fixture()
def ball_split(tmp_path, monkeypatch) -> Path:
    """Two synthetic Ball games (the official test split's names) and one model's predictions: the labels
    moved by 0-3 frames, some dropped, plus false alarms."""
    root, predictions = tmp_path / "ball", tmp_path / "predictions" / "shifted"
    rng = np.random.default_rng(0)
    for seed, name in enumerate(GAMES):
        game = generate_ball_game(root / name, seed, (60.0, 60.0))
        rows = []
        for item in json.loads(game.labels_path.read_text())["annotations"]:
            if rng.random() < 0.8:
                rows.append({**item, "half": item["gameTime"][0], "confidence": f"{rng.uniform(0.5, 1):.3f}",
                             "position": str(int(item["position"]) + 40 * int(rng.integers(0, 4)))})
        for _ in range(10):
            rows.append({"gameTime": "1 - 00:00", "label": "PASS", "position": str(int(rng.integers(0, 60_000))),
                         "half": "1", "confidence": f"{rng.uniform(0, 0.5):.3f}"})
        (predictions / name).mkdir(parents=True)
        (predictions / name / "results_spotting.json").write_text(json.dumps({"predictions": rows}))
    monkeypatch.setenv("SOCCERNET_DIR", str(root))
    monkeypatch.setenv("SOCCERNET_PREDICTIONS_DIR", str(tmp_path / "predictions"))
    return tmp_path


def test_split_page_scores_ball_data_with_its_classes_and_rate(ball_split):
    app = AppTest.from_file(SPLIT_PAGE, default_timeout=120)
    app.query_params.update({"split": "test"})
    app.run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    table = next(d.value for d in app.main.dataframe if "at1 unsh." in d.value.columns).set_index("model")
    expected = {m: evaluate_folder(ball_split / "ball", ball_split / "predictions" / "shifted", split="test", metric=m)
                for m in ("at1", "tight")}
    assert expected["at1"].num_classes == 2 and expected["at1"].framerate == 25.0
    assert table.loc["shifted", "at1"] == pytest.approx(100 * expected["at1"].a_mAP, abs=1e-9)
    assert table.loc["shifted", "tight"] == pytest.approx(100 * expected["tight"].a_mAP, abs=1e-9)
    assert table.loc["shifted", "games"] == 2
    assert any("Ball Action Spotting 2023" in c.value for c in app.main.caption)
    assert any("Average-mAP at1" in m.value for m in app.main.markdown)
    assert app.multiselect(key="override_classes").options == list(BALL_2023.classes)
