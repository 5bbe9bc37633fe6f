"""The field cases of ../shared/cases (situations reported in public issue trackers), each built in a
temporary folder by its make.py and checked against its expect.md."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from SoccerNet.Evaluation.ActionSpotting import evaluate as official_evaluate
from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_BALL, EVENT_DICTIONARY_V2

from spotting.errors import InputError
from spotting.evaluate import evaluate_folder
from spotting.soccernet import game_at
from spotting.timebase import check_feature_rate, display_rate, half_lengths, known_durations, last_events_s

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT.parent / "shared" / "cases"
DATA = ROOT.parent / "shared" / "data"
CITY_CHELSEA = "england_epl/2015-2016/2015-08-16 - 18-00 Manchester City 3 - 0 Chelsea"
DEMO_CHECKPOINT = ROOT / "assets" / "demo" / "model.pt"


def build_case(name: str, out: Path, needs_data: bool = True) -> Path:
    """Run ``../shared/cases/<name>/make.py OUT`` from the project root; skip when the case or the real data is absent."""
    make = CASES / name / "make.py"
    if not make.is_file() or (needs_data and not (DATA / "soccernet").is_dir()):
        pytest.skip(f"field case {name} or ../shared/data not beside this checkout")
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, str(make), str(out)], cwd=ROOT, check=True, capture_output=True, timeout=300)
    return out


def cli(module: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


# ---------------------------------------------------------------- ball-action

def test_ball_action_is_evaluated_with_its_classes_and_rate(tmp_path):
    case = build_case("ball-action", tmp_path / "case", needs_data=False)
    proc = cli("spotting.evaluate", "--soccernet-dir", str(case / "ball"), "--predictions-dir", str(case / "preds"),
               "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["metric"] == "at1" and result["classes"] == ["PASS", "DRIVE"] and result["framerate"] == 25
    assert round(result["a_mAP"], 3) == 0.998  # expect.md: at1 0.998
    assert "Ball Action Spotting 2023" in proc.stderr
    tight = evaluate_folder(case / "ball", case / "preds", metric="tight")
    assert round(tight.a_mAP, 3) == 0.974  # expect.md: tight 0.974
    with contextlib.redirect_stderr(io.StringIO()):
        for metric, ours in (("at1", result["a_mAP"]), ("tight", tight.a_mAP)):
            official = official_evaluate(str(case / "ball"), str(case / "preds"), dataset=None, framerate=25,
                                         label_files="Labels-ball.json", EVENT_DICTIONARY=EVENT_DICTIONARY_BALL,
                                         metric=metric)
            assert abs(ours - official["a_mAP"]) <= 1e-12
    table = cli("spotting.evaluate", "--soccernet-dir", str(case / "ball"), "--predictions-dir", str(case / "preds"))
    assert table.returncode == 0 and "PASS" in table.stdout and "DRIVE" in table.stdout and "Penalty" not in table.stdout


# ---------------------------------------------------------------- zipped-predictions

def test_zipped_predictions_evaluate_as_the_folder(tmp_path):
    case = build_case("zipped-predictions", tmp_path / "case")
    zipped = case / "results_spotting_test.zip"
    from_zip = evaluate_folder(case / "SoccerNet", zipped, metric="loose")
    from_folder = evaluate_folder(case / "SoccerNet", case / "unzipped", metric="loose")
    assert round(from_zip.a_mAP, 6) == 0.314798 and from_zip.to_dict() == from_folder.to_dict()
    with contextlib.redirect_stderr(io.StringIO()):
        official = official_evaluate(str(case / "SoccerNet"), str(zipped), dataset=None, version=2,
                                     EVENT_DICTIONARY=EVENT_DICTIONARY_V2)
    assert abs(from_zip.a_mAP - official["a_mAP"]) <= 1e-12
    proc = cli("spotting.evaluate", "--soccernet-dir", str(case / "SoccerNet"), "--predictions-dir", str(zipped),
               "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["a_mAP"] == from_zip.a_mAP
    # A zip without a game's file names the member it looked for, inside the zip.
    missing = cli("spotting.evaluate", "--soccernet-dir", str(DATA / "soccernet"), "--predictions-dir", str(zipped),
                  "--split", "test")
    assert missing.returncode == 2 and f"{zipped}:" in missing.stderr and "results_spotting.json" in missing.stderr


def test_official_netvlad_zip_gives_the_folder_figures(shared_data):
    zipped = shared_data / "predictions" / "netvlad_v2_results_spotting_test.zip"
    if not zipped.is_file():
        pytest.skip("the official NetVLAD zip is not in ../shared/data")
    from_zip = evaluate_folder(shared_data / "soccernet", zipped, split="test", metric="tight")
    from_folder = evaluate_folder(shared_data / "soccernet", shared_data / "predictions" / "netvlad_v2", split="test",
                                  metric="tight")
    assert from_zip.to_dict() == from_folder.to_dict() and abs(from_zip.a_mAP - 0.0412414810468075) <= 1e-9


# ---------------------------------------------------------------- features-25fps

def test_features_25fps_with_a_2fps_model_is_noticed(tmp_path):
    case = build_case("features-25fps", tmp_path / "case", needs_data=False)
    game = game_at(case / "SoccerNet" / "league" / "2020-2021" / "game-25fps", features="synthetic512.npy")
    durations = known_durations(game, last_events_s(game.read_labels()))
    frames = int(game.load_features(1).shape[0])
    assert frames == 15000 and durations[1].source == "labels"
    with pytest.raises(InputError) as error:
        check_feature_rate(game.features_path(1), frames, 2.0, durations[1])
    message = str(error.value)
    assert str(game.features_path(1)) in message and "25 fps" in message and "2 fps" in message
    assert "--framerate 25" in message  # the fix
    # With nothing known about the half, a warning: 125 minutes at 2 fps.
    warning = check_feature_rate(game.features_path(1), frames, 2.0, None)
    assert warning is not None and "125:00" in warning
    # A 25-fps model fits, and the features draw as 10-minute halves.
    assert check_feature_rate(game.features_path(1), frames, 25.0, durations[1]) is None
    assert display_rate({1: frames, 2: frames}, 2.0, durations) == 25.0


# ---------------------------------------------------------------- baidu-1fps

def test_baidu_1fps_half_lengths_and_dimension_check(tmp_path):
    case = build_case("baidu-1fps", tmp_path / "case")
    game = game_at(case / "SoccerNet" / CITY_CHELSEA, case / "SoccerNet", features="baidu_soccer_embeddings.npy")
    labels = game.read_labels()
    durations = known_durations(game, last_events_s(labels))
    frames = {h: int(game.load_features(h).shape[0]) for h in (1, 2)}
    rate = display_rate(frames, 2.0, durations)  # no model: the preferred 2 fps is contradicted by the labels
    lengths = half_lengths(frames, rate, durations, last_events_s(labels))
    assert rate == 1.0 and [int(lengths[h]) // 60 for h in (1, 2)] == [47, 46]
    assert [f"{int(lengths[h]) // 60}:{int(lengths[h]) % 60:02d}" for h in (1, 2)] == ["47:20", "46:47"]
    # B: the 512-d demo model on 8576-d features exits 2 with one line naming the file and both dimensions.
    if not DEMO_CHECKPOINT.is_file():
        pytest.skip("demo model missing")
    proc = cli("spotting.infer", "--game-dir", str(game.directory), "--checkpoint", str(DEMO_CHECKPOINT),
               "--features", "baidu_soccer_embeddings.npy", "--out", str(tmp_path / "out.json"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert "1_baidu_soccer_embeddings.npy" in line and "8576" in line and "512" in line
    assert np.isclose(durations[1].seconds, 2780.4, atol=1)  # the last label (no games.json in the case)


def test_features_25fps_infer_exits_2_naming_file_rates_and_fix(tmp_path):
    case = build_case("features-25fps", tmp_path / "case", needs_data=False)
    if not DEMO_CHECKPOINT.is_file():
        pytest.skip("demo model missing")
    game = case / "SoccerNet" / "league" / "2020-2021" / "game-25fps"
    proc = cli("spotting.infer", "--game-dir", str(game), "--checkpoint", str(DEMO_CHECKPOINT),
               "--out", str(tmp_path / "out.json"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and not (tmp_path / "out.json").exists()
    line = proc.stderr.strip().splitlines()[-1]
    assert str(game / "1_synthetic512.npy") in line and "about 25 fps" in line and "the model at 2 fps" in line
    assert "--framerate 25" in line


# ---------------------------------------------------------------- partial-download

def test_partial_download_names_the_truncated_file_and_the_skipped_game(tmp_path):
    case = build_case("partial-download", tmp_path / "case")
    if not DEMO_CHECKPOINT.is_file():
        pytest.skip("demo model missing")
    root, out = case / "SoccerNet", tmp_path / "out"
    a, b, c = ("england_epl/2014-2015/2015-05-17 - 18-00 Manchester United 1 - 1 Arsenal", CITY_CHELSEA,
               "england_epl/2015-2016/2015-08-29 - 17-00 Liverpool 0 - 3 West Ham")
    args = ["--soccernet-dir", str(root), "--split", "test", "--checkpoint", str(DEMO_CHECKPOINT), "--out-dir", str(out)]
    first = cli("spotting.infer", *args)
    assert first.returncode == 2 and "Traceback" not in first.stderr
    assert str(root / b / "2_synthetic512.npy") in first.stderr.splitlines()[-1] and "truncated" in first.stderr
    assert f"{c}: no 2_synthetic512.npy" in first.stderr  # C is named, not left out silently
    assert not out.exists()  # nothing spotted before the problems were known
    (root / b / "2_synthetic512.npy").write_bytes((ROOT / "assets" / "demo" / "game" / "2_synthetic512.npy").read_bytes())
    second = cli("spotting.infer", *args)  # B fixed: C still stops the run, named, with the way out
    assert second.returncode == 2 and c in second.stderr.splitlines()[-1] and "--skip-incomplete" in second.stderr
    third = cli("spotting.infer", *args, "--skip-incomplete")
    assert third.returncode == 0, third.stderr
    assert "2 games read" in third.stderr.splitlines()[-1]  # the summary line, last
    assert f"{c}: no 2_synthetic512.npy" in third.stderr.split("skipped 1 game(s)")[1]
    assert (out / a / "results_spotting.json").is_file() and (out / b / "results_spotting.json").is_file()
    assert not (out / c).exists()
    # Evaluation names the game it cannot score, too.
    evaluation = cli("spotting.evaluate", "--soccernet-dir", str(root), "--predictions-dir", str(out),
                     "--missing-as-empty")
    assert evaluation.returncode == 0 and c in evaluation.stderr


# ---------------------------------------------------------------- baidu-1fps D, E: a 1-fps model of our own

@pytest.mark.slow
def test_baidu_1fps_train_and_infer_at_1_fps(tmp_path):
    case = build_case("baidu-1fps", tmp_path / "case")
    game = case / "SoccerNet" / CITY_CHELSEA
    subprocess.run([sys.executable, str(CASES / "baidu-1fps" / "make_train.py"), str(game)], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    # Without --framerate the model would be 2 fps: the features' own rate (from the labels) says 1 — exit 2.
    base = ["--soccernet-dir", str(case / "SoccerNet"), "--features", "baidu_rand.npy", "--train-split", "all",
            "--valid-split", "", "--epochs", "1", "--chunks-per-epoch", "16", "--batch-size", "8", "--workers", "0",
            "--device", "cpu"]
    wrong = cli("spotting.train", *base, "--out", str(tmp_path / "wrong"))
    assert wrong.returncode == 2 and "about 1 fps" in wrong.stderr and "--framerate 1" in wrong.stderr
    trained = cli("spotting.train", *base, "--framerate", "1", "--out", str(tmp_path / "run"))
    assert trained.returncode == 0, trained.stderr
    from spotting.checkpoint import load_checkpoint

    loaded = load_checkpoint(tmp_path / "run" / "best.pt", "cpu")
    assert loaded.framerate == 1.0 and loaded.spec.name == "soccernet-v2"  # E: the checkpoint records 1 fps
    out = tmp_path / "results_spotting.json"
    spotted = cli("spotting.infer", "--game-dir", str(game), "--checkpoint", str(tmp_path / "run" / "best.pt"),
                  "--out", str(out), "--device", "cpu")
    assert spotted.returncode == 0, spotted.stderr
    predictions = json.loads(out.read_text())["predictions"]
    positions = {h: [int(p["position"]) for p in predictions if p["half"] == str(h)] for h in (1, 2)}
    assert positions[1] and positions[2]
    assert all(ms % 1000 == 0 for ms in positions[1] + positions[2])  # D: position = frame × 1000 at 1 fps
    assert max(positions[1]) <= 2_840_000 and max(positions[2]) <= 2_807_000
    assert max(positions[1]) > 1_500_000  # the whole half is spotted, not its first 23:40 only
