"""The synthetic match generator: game folder format, video, determinism, timeline realism, cues."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from spotting.errors import InputError
from spotting.results import write_results
from spotting.soccernet import CLASS_INDEX, CLASSES, NUM_CLASSES, Game, load_features, read_labels
from spotting.synth import game_timeline, generate_game
from spotting.synth.__main__ import main as synth_main
from spotting.synth.render import cue_onset_frames
from spotting.synth.timeline import MIN_GAP_S, load_stats, sample_half_seconds, sample_timeline

HALF_S = (150.0, 137.3)  # two short halves, one not a whole number of feature frames
SEED = 11
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="module")
def game(tmp_path_factory) -> Game:
    root = tmp_path_factory.mktemp("soccernet")
    return generate_game(root / "synthetic_game", SEED, half_seconds=HALF_S, video=True, workers=1)


def test_labels_follow_the_official_format(game: Game) -> None:
    data = json.loads(game.labels_path.read_text())
    assert data["annotations"], "a 5-minute game has events"
    for item in data["annotations"]:
        assert set(item) == {"gameTime", "label", "position", "team", "visibility"}
        assert re.fullmatch(r"[12] - \d\d:\d\d", item["gameTime"])
        assert item["position"].isdigit()
        minutes, seconds = map(int, item["gameTime"][4:].split(":"))
        assert minutes * 60 + seconds == int(item["position"]) // 1000
        assert item["visibility"] in ("visible", "not shown")
        assert item["team"] in ("home", "away", "not applicable")
    labels = read_labels(game.labels_path)
    for half, seconds in zip((1, 2), HALF_S):
        positions = np.sort(labels.for_half(half).position_ms)
        assert len(positions) > 0 and positions[-1] < seconds * 1000
        assert np.diff(positions).min() >= MIN_GAP_S * 1000


def test_features_have_the_soccernet_shape(game: Game) -> None:
    assert game.features == "synthetic512.npy"
    for half, seconds in zip((1, 2), HALF_S):
        features = load_features(game.features_path(half), dim=512)  # also checks finiteness
        assert features.dtype == np.float16
        assert features.shape == (int(np.floor(seconds * 2)), 512)
        assert 0.3 < float(np.asarray(features, np.float32).std()) < 3.0


def test_video_decodes_with_the_half_duration(game: Game) -> None:
    for half, seconds in zip((1, 2), HALF_S):
        path = game.video_path(half)
        assert path is not None and path.name == f"{half}_224p.webm"
        capture = cv2.VideoCapture(str(path))
        fps = capture.get(cv2.CAP_PROP_FPS)
        frames = 0
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            assert frame.shape[0] >= 224 and frame.shape[1] >= 398
            frames += 1
        capture.release()
        assert fps > 0 and abs(frames / fps - seconds) <= 1.0


def test_features_can_be_recomputed_from_the_video(game: Game) -> None:
    """video -> features: decoding the .webm and encoding it gives the stored features (before compression)."""
    from spotting.synth.encoder import features_from_video

    for half in (1, 2):
        stored = np.asarray(game.load_features(half), np.float32)
        decoded = features_from_video(game.video_path(half)).astype(np.float32)
        assert decoded.shape == stored.shape
        cosine = (decoded * stored).sum(1) / np.linalg.norm(decoded, axis=1) / np.linalg.norm(stored, axis=1)
        assert cosine.mean() > 0.97


def test_cues_jump_at_the_event_frame(game: Game) -> None:
    """Learnability: the features change sharply exactly at each event's frame, not elsewhere."""
    labels = game.read_labels()
    onsets, backgrounds = [], []
    for half in (1, 2):
        features = np.asarray(game.load_features(half), np.float32)
        jumps = np.r_[0.0, np.linalg.norm(np.diff(features, axis=0), axis=1)]  # (T,)
        frames = labels.for_half(half).frames(2.0)
        assert np.array_equal(frames * 2, cue_onset_frames(labels.for_half(half).position_ms))
        quiet = np.ones(len(features), bool)
        for offset in range(-1, 9):  # away from every cue, its end and the replays around it
            quiet[np.clip(frames + offset, 0, len(features) - 1)] = False
        onsets.append(jumps[frames[frames > 0]])
        backgrounds.append(jumps[quiet])
    onset, background = np.concatenate(onsets), np.concatenate(backgrounds)
    assert np.mean(onset > np.percentile(background, 95)) >= 0.9


def test_same_seed_same_game_whatever_the_workers(game: Game, tmp_path: Path) -> None:
    again = generate_game(tmp_path / "again", SEED, half_seconds=HALF_S, video=False, workers=2)
    assert again.labels_path.read_text() == game.labels_path.read_text()
    for half in (1, 2):
        assert np.array_equal(np.load(again.features_path(half)), np.load(game.features_path(half)))
    assert again.video_path(1) is None
    planned = game_timeline(SEED, HALF_S).events  # the cheap preview is exactly what was written
    written = game.read_labels()
    assert np.array_equal(planned.position_ms, written.position_ms)
    assert np.array_equal(planned.class_index, written.class_index)
    other = generate_game(tmp_path / "other", SEED + 1, half_seconds=(20.0, 20.0), video=False, workers=1)
    assert other.labels_path.read_text() != game.labels_path.read_text()


def test_refuses_a_non_empty_folder_without_force(tmp_path: Path) -> None:
    target = tmp_path / "game"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="force"):
        generate_game(target, 1, half_seconds=(12.0, 12.0), video=False, workers=1)
    assert generate_game(target, 1, half_seconds=(12.0, 12.0), video=False, force=True, workers=1).has_features()
    with pytest.raises(InputError):
        generate_game(tmp_path / "short", 1, half_seconds=(5.0, 30.0), video=False, workers=1)


def test_soccernet_evaluate_accepts_the_game(game: Game, tmp_path: Path) -> None:
    from SoccerNet.Evaluation.ActionSpotting import evaluate
    from SoccerNet.Evaluation.utils import EVENT_DICTIONARY_V2

    labels = game.read_labels()
    write_results(tmp_path / game.name / "results_spotting.json", labels)
    present = np.unique(labels.class_index)
    for metric in ("loose", "tight"):
        result = evaluate(SoccerNet_path=str(game.directory.parent), Predictions_path=str(tmp_path),
                          prediction_file="results_spotting.json", split=None, dataset=None, version=2,
                          EVENT_DICTIONARY=EVENT_DICTIONARY_V2, metric=metric, label_files="Labels-v2.json")
        per_class = np.asarray(result["a_mAP_per_class"])
        assert np.allclose(per_class[present], 1.0)  # perfect predictions of every class in the game
        assert result["a_mAP"] == pytest.approx(len(present) / NUM_CLASSES)  # absent classes count 0


def test_timeline_follows_the_real_statistics() -> None:
    stats = load_stats()
    games = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        halves = sample_half_seconds(rng, stats)
        assert all(2600 <= h <= 3200 for h in halves)
        games.append(sample_timeline(rng, halves, stats))
    counts = np.array([len(g) for g in games])
    assert 190 <= counts.mean() <= 250  # 220 per real game
    classes = np.concatenate([g.class_index for g in games])
    visible = np.concatenate([g.visible for g in games])
    assert 0.14 <= 1 - visible.mean() <= 0.22  # 17.9 % "not shown" in the real games
    assert (~visible[classes == CLASS_INDEX["Goal"]]).sum() == 0
    successors: dict[int, list[int]] = {}
    firsts = []
    for g in games:
        for half in (1, 2):
            c = g.for_half(half).class_index
            firsts.append(c[0])
            for a, b in zip(c[:-1], c[1:]):
                successors.setdefault(int(a), []).append(int(b))
    assert np.mean(np.equal(firsts, CLASS_INDEX["Kick-off"])) >= 0.7  # 87 % (else half-time substitutions)
    top = {a: np.bincount(b, minlength=NUM_CLASSES).argmax() for a, b in successors.items() if len(b) >= 20}
    assert top[CLASS_INDEX["Ball out of play"]] == CLASS_INDEX["Throw-in"]
    assert top[CLASS_INDEX["Foul"]] == CLASS_INDEX["Indirect free-kick"]
    assert top[CLASS_INDEX["Shots off target"]] == CLASS_INDEX["Ball out of play"]
    ball_out = np.concatenate([g.team[g.class_index == CLASS_INDEX["Ball out of play"]] for g in games])
    assert set(ball_out) == {"not applicable"}


def test_rare_boost_makes_rare_classes_frequent() -> None:
    rare = load_stats().rare_classes
    assert {CLASSES[c] for c in rare} == {"Penalty", "Red card", "Yellow->red card"}

    def rare_count(boost: float) -> int:
        return sum(int(np.isin(game_timeline(seed, rare_boost=boost).events.class_index, rare).sum())
                   for seed in range(20))

    assert rare_count(6.0) > 3 * max(rare_count(1.0), 1)


def test_cli_writes_games_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    from spotting.cli import run_cli

    args = ["--out", str(tmp_path), "--seed", "5", "--games", "2", "--minutes", "0.25", "--no-video", "--workers", "1"]
    assert synth_main(args) == 0
    for seed in (5, 6):
        folder = tmp_path / f"synthetic_{seed}"
        assert (folder / "1_synthetic512.npy").is_file() and (folder / "Labels-v2.json").is_file()
    assert not list(tmp_path.rglob("*.webm"))
    assert run_cli(synth_main, args) == 2
    assert "--force" in capsys.readouterr().err
    assert run_cli(synth_main, args + ["--force"]) == 0


@pytest.mark.skipif(not (SHARED_DATA / "games.json").is_file(), reason="shared real data not available")
def test_stats_json_is_what_the_script_computes() -> None:
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts" / "synth_stats.py"
    spec = importlib.util.spec_from_file_location("synth_stats", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stored = json.loads((Path(__file__).resolve().parents[1] / "spotting" / "synth" / "stats.json").read_text())
    assert module.compute_stats(SHARED_DATA) == stored
    assert stored["games"] == 200 and abs(stored["events_per_game"] - 220) < 1


def test_every_class_has_its_own_scene_and_an_unknown_class_has_none() -> None:
    """Each of the 17 classes (and the celebration) is drawn as its own shot, distinct from every other;
    a class without a scene is an error, not another class's picture (the features would lie)."""
    from spotting.synth.scenes import _template

    kit, other, sponsors = (0, 0, 200), (200, 200, 200), ((10, 10, 10), (200, 200, 0))
    shots = {cls: _template(cls, kit, other, np.random.default_rng(0), sponsors) for cls in (*CLASSES, "celebration")}
    names = list(shots)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not np.array_equal(shots[a], shots[b]), (a, b)
    with pytest.raises(ValueError, match="no synthetic scene for class 'Shot'"):
        _template("Shot", kit, other, np.random.default_rng(0), sponsors)
