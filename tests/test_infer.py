"""Chunking and stitching at arbitrary lengths, whole-half inference, and the official evaluator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spotting.infer import chunk_boundaries, chunk_starts, infer_half, stitch, stitch_detections
from spotting.model import CALF, ModelConfig


@settings(max_examples=200, deadline=None)
@given(num_frames=st.integers(1, 4000), chunk=st.integers(4, 300), data=st.data())
def test_stitching_a_local_model_equals_direct_computation(num_frames: int, chunk: int, data) -> None:
    receptive = data.draw(st.integers(0, chunk - 1))
    stride = chunk - receptive
    rng = np.random.default_rng(num_frames)
    features = rng.standard_normal((num_frames, 3))
    local_model = lambda x: np.tanh(x) * 2 + 1  # noqa: E731 — output depends only on the frame itself
    starts = chunk_starts(num_frames, chunk, stride)
    padded = np.concatenate([features, np.zeros((max(chunk - num_frames, 0), 3))])
    chunks = np.stack([local_model(padded[s: s + chunk]) for s in starts])
    np.testing.assert_array_equal(stitch(chunks, starts, num_frames), local_model(features))
    # chunks cover the half, the last one ends at the end, boundaries are ordered and inside each chunk
    assert starts[0] == 0 and (num_frames <= chunk or starts[-1] == num_frames - chunk)
    assert (np.diff(starts) > 0).all() and (np.diff(starts) <= stride).all()
    bounds = chunk_boundaries(starts, chunk, num_frames)
    assert (np.diff(bounds) >= 0).all() and bounds[-1] == num_frames
    assert (bounds[:-1] >= starts).all() and (bounds[1:] <= starts + chunk).all()


@settings(max_examples=100, deadline=None)
@given(num_frames=st.integers(1, 2000), data=st.data())
def test_detections_land_on_their_frame_once(num_frames: int, data) -> None:
    chunk, stride = 240, 160
    starts = chunk_starts(num_frames, chunk, stride)
    bounds = chunk_boundaries(starts, chunk, num_frames)
    target = data.draw(st.integers(0, num_frames - 1))
    cls = data.draw(st.integers(0, 16))
    spotting = np.zeros((len(starts), 3, 19), np.float32)
    for i, s in enumerate(starts):  # every chunk that contains the frame reports it
        if s <= target < s + chunk:
            spotting[i, 0, :2] = [0.5 + 0.01 * i, (target - s) / chunk]
            spotting[i, 0, 2 + cls] = 1
    detection = stitch_detections(spotting, starts, chunk, num_frames)
    assert np.count_nonzero(detection) == 1
    owner = np.searchsorted(bounds[1:], target, side="right")
    assert detection[target, cls] == pytest.approx(0.5 + 0.01 * owner)


def test_position_decodes_without_the_reference_off_by_one() -> None:
    spotting = np.zeros((1, 1, 19), np.float32)
    spotting[0, 0, :2] = [0.9, 239 / 240]  # trained as t / T for t = 239
    spotting[0, 0, 2] = 1
    assert np.flatnonzero(stitch_detections(spotting, np.array([0]), 240, 240)[:, 0]).tolist() == [239]
    spotting[0, 0, 1] = 120 / 240
    assert np.flatnonzero(stitch_detections(spotting, np.array([0]), 240, 240)[:, 0]).tolist() == [120]


def test_a_slot_scores_every_class_by_confidence_times_probability() -> None:
    """A penalty slot that also gives the shot on target 40 % yields both, and the best slot wins a cell."""
    spotting = np.zeros((1, 2, 19), np.float32)
    spotting[0, 0, :2] = [0.8, 100 / 240]
    spotting[0, 0, 2 + 0], spotting[0, 0, 2 + 5] = 0.6, 0.4  # Penalty, Shots on target
    spotting[0, 1, :2] = [0.5, 100 / 240]  # a second slot on the same frame, sure it is a shot
    spotting[0, 1, 2 + 5] = 0.99
    spotting[0, 1, 2 + 9] = 0.01  # 0.5 × 0.01: a runner-up under MIN_RUNNER_UP_SCORE, not a candidate
    spotting[0, 1, 0] = 0.5
    detection = stitch_detections(spotting, np.array([0]), 240, 240)
    assert detection[100, 0] == pytest.approx(0.48) and detection[100, 5] == pytest.approx(0.495)
    assert np.count_nonzero(detection) == 2
    # a slot's arg-max class is a candidate however low its score (an untrained model still spots)
    spotting[0, :, 0] = 0.001
    assert np.count_nonzero(stitch_detections(spotting, np.array([0]), 240, 240)) == 2


@pytest.fixture(scope="module")
def model() -> CALF:
    torch.manual_seed(0)
    return CALF(ModelConfig(feature_dim=24, chunk_seconds=30, receptive_field_seconds=10)).eval()


@pytest.mark.parametrize("num_frames", [1, 37, 60, 61, 100, 141, 333, 1500])  # 1500: the FFT pyramid
def test_whole_half_inference_equals_chunk_by_chunk_forward(model: CALF, num_frames: int) -> None:
    """Front end once per half + batched heads == each chunk through the training forward."""
    c = model.config
    features = np.random.default_rng(num_frames).standard_normal((num_frames, 24)).astype(np.float32)
    scores = infer_half(model, features)
    assert scores.segmentation.shape == scores.detection.shape == (num_frames, 17)
    starts = chunk_starts(num_frames, c.chunk_size, c.chunk_size - c.receptive_field)
    length = max(num_frames, c.chunk_size) + 2 * c.margin
    padded = np.zeros((length, 24), np.float32)
    padded[c.margin: c.margin + num_frames] = features
    valid = np.zeros(length, bool)
    valid[c.margin: c.margin + num_frames] = True
    window = c.chunk_size + 2 * c.margin
    with torch.no_grad():
        outputs = [model(torch.from_numpy(padded[None, s: s + window]), torch.from_numpy(valid[None, s: s + window]))
                   for s in starts]
    segmentation = np.stack([o[0][0].numpy() for o in outputs])
    spotting = np.stack([o[1][0].numpy() for o in outputs])
    np.testing.assert_allclose(scores.segmentation, stitch(segmentation, starts, num_frames), atol=1e-5)
    np.testing.assert_allclose(scores.detection, stitch_detections(spotting, starts, c.chunk_size, num_frames), atol=1e-5)
    assert ((scores.segmentation >= 0) & (scores.segmentation <= 1)).all()


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=CUDA)])
@pytest.mark.parametrize("length,batch", [(512, 1), (513, 2), (1000, 1), (5463, 2)])
def test_fft_pyramid_equals_the_convolutions(length: int, batch: int, device: str, monkeypatch) -> None:
    """The whole-half pyramid by overlap-save FFT == the four convolutions (default 40-s field)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # CUDA: full-precision convolutions
    torch.manual_seed(length)
    model = CALF(ModelConfig(feature_dim=8)).eval().to(device)
    codes = torch.relu(torch.randn(batch, 32, length + 2 * model.config.margin, device=device))
    with torch.no_grad():
        fast = model.context(codes)
        assert model._spectra is not None  # the FFT path ran
    with torch.enable_grad():  # training path: the convolutions themselves
        direct = model.context(codes).detach()
    assert fast.shape == direct.shape == (batch, 152, length)
    torch.testing.assert_close(fast, direct, atol=2e-5, rtol=1e-5)
    with torch.no_grad():  # new weights are seen (the cached spectrum is for the old ones)
        model.pyramid[3].weight.mul_(-1)
        refreshed = model.context(codes)
    with torch.enable_grad():
        torch.testing.assert_close(refreshed, model.context(codes).detach(), atol=2e-5, rtol=1e-5)
    assert not torch.allclose(refreshed, fast)


def test_head_inference_path_equals_training_path(model: CALF) -> None:
    """Without autograd the head computes the segmentation in place; it must give the same values."""
    context = torch.randn(3, 152, model.config.chunk_size)
    with torch.enable_grad():
        expected = [t.detach() for t in model.head(context)]
    with torch.inference_mode():
        got = model.head(context)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b)


def test_model_output_does_not_depend_on_batch_companions(model: CALF) -> None:
    """Normalisation over features (not over time positions / batch at eval) keeps chunks independent."""
    x = torch.randn(3, model.config.chunk_size + 2 * model.config.margin, 24)
    with torch.no_grad():
        together = model(x)[0]
        alone = model(x[1:2])[0]
    torch.testing.assert_close(together[1:2], alone)
    assert model.norm_seg.num_features == 16 * 17  # not the chunk length


def test_pooled_attention_tokens_are_the_means_of_their_frames_even_a_short_last_one() -> None:
    from spotting.model import PooledAttention

    attention = PooledAttention(8, 2, 16, 0.0, pool=4, chunk=10).eval()
    seen = []
    attention.block.register_forward_pre_hook(lambda _module, args: seen.append(args[0]))
    x = torch.randn(2, 10, 8)
    with torch.no_grad():
        assert torch.equal(attention(x), x)  # the scale starts at 0: plain CALF at initialisation
        attention.scale.fill_(1.0)
        out = attention(x)
        context = attention.block(seen[0])  # (B, 3 tokens, 8)
    tokens = seen[0]  # the block adds its positions itself
    expected = torch.stack((x[:, 0:4].mean(1), x[:, 4:8].mean(1), x[:, 8:10].mean(1)), dim=1)
    torch.testing.assert_close(tokens, expected)
    # linear interpolation between token centres (frames 1.5, 5.5, 9.5): no steps at token edges
    torch.testing.assert_close(out[:, 1] - x[:, 1], context[:, 0])
    torch.testing.assert_close(out[:, 2] - x[:, 2], 0.875 * context[:, 0] + 0.125 * context[:, 1])
    torch.testing.assert_close(out[:, 9] - x[:, 9], 0.125 * context[:, 1] + 0.875 * context[:, 2])


def test_split_inference_refuses_existing_results_before_inferring_any_game(tmp_path) -> None:
    """One existing result file among a split's games: nothing is written, the error names it."""
    from spotting.checkpoint import load_checkpoint, save_checkpoint
    from spotting.errors import InputError
    from spotting.infer import infer_split
    from spotting.postprocess import SpottingConfig
    from spotting.soccernet import Game

    config = ModelConfig(feature_dim=24, chunk_seconds=30, receptive_field_seconds=10)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "m.pt", CALF(config), "f.npy"), "cpu")
    games = []
    for name in ("a", "b"):
        folder = tmp_path / "data" / name
        folder.mkdir(parents=True)
        for half in (1, 2):
            np.save(folder / f"{half}_f.npy", np.zeros((200, 24), np.float32))
        games.append(Game(folder, name, "f.npy"))
    existing = tmp_path / "out" / "b" / "results_spotting.json"
    existing.parent.mkdir(parents=True)
    existing.write_text("mine")
    with pytest.raises(InputError, match="already exists"):
        infer_split(loaded, games, tmp_path / "out", SpottingConfig())
    assert not (tmp_path / "out" / "a").exists() and existing.read_text() == "mine"
    assert infer_split(loaded, games, tmp_path / "out", SpottingConfig(), force=True, show_progress=False)[0] == 2
    assert existing.read_text() != "mine"


def _tiny_games(tmp_path, lengths=((700, 650), (300, 900)), dim: int = 24):
    from spotting.checkpoint import load_checkpoint, save_checkpoint
    from spotting.soccernet import Game

    config = ModelConfig(feature_dim=dim, chunk_seconds=30, receptive_field_seconds=10)
    loaded = load_checkpoint(save_checkpoint(tmp_path / "m.pt", CALF(config), "f.npy"), "cpu")
    games = []
    for i, halves in enumerate(lengths):
        folder = tmp_path / "data" / f"game{i}"
        folder.mkdir(parents=True)
        for half, n in zip((1, 2), halves):
            np.save(folder / f"{half}_f.npy", np.random.default_rng(i).standard_normal((n, dim)).astype(np.float16))
        games.append(Game(folder, f"game{i}", "f.npy"))
    return loaded, games


def test_score_game_reports_progress_over_both_halves_and_equals_infer_game(tmp_path) -> None:
    """Progress counts chunks over both halves, never backwards, ending at the total; the scores are
    those of infer_game on the same features (float16 converted by torch)."""
    from spotting.infer import infer_game, score_game

    loaded, games = _tiny_games(tmp_path)
    calls = []
    scores = score_game(loaded, games[0], progress=lambda done, total: calls.append((done, total)))
    c = loaded.config
    expected = sum(len(chunk_starts(n, c.chunk_size, c.chunk_size - c.receptive_field)) for n in (700, 650))
    assert calls[-1] == (expected, expected) and len({t for _, t in calls}) == 1
    assert all(b[0] > a[0] for a, b in zip(calls, calls[1:]))
    direct = infer_game(loaded, {h: np.load(games[0].features_path(h)).astype(np.float32) for h in (1, 2)})
    for half in (1, 2):
        np.testing.assert_array_equal(scores.halves[half].segmentation, direct.halves[half].segmentation)
        np.testing.assert_array_equal(scores.halves[half].detection, direct.halves[half].detection)


def test_split_inference_shows_a_progress_bar_per_game(tmp_path, monkeypatch) -> None:
    """On a terminal, split inference draws one bar that reaches every game of the split."""
    import io
    import sys

    from spotting.infer import infer_split
    from spotting.postprocess import SpottingConfig

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    loaded, games = _tiny_games(tmp_path)
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert infer_split(loaded, games, tmp_path / "out", SpottingConfig())[0] == 2
    shown = terminal.getvalue()
    assert "inference (cpu)" in shown and "0/2" in shown and "2/2" in shown
    assert all((tmp_path / "out" / g.name / "results_spotting.json").is_file() for g in games)
    terminal.seek(0), terminal.truncate()
    assert infer_split(loaded, games, tmp_path / "quiet", SpottingConfig(), show_progress=False)[0] == 2
    assert terminal.getvalue() == ""
