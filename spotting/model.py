"""CALF (Cioppa et al., CVPR 2020) with a self-attention block after the convolutional front end.

The network is split so that whole-half inference can run the front end once per half:

* ``encode``  — per-frame 1×1 layers (features → 32 channels), any length;
* ``context`` — the temporal pyramid as *valid* convolutions over a sequence padded by
  ``margin`` frames on each side, so a chunk cut from a whole-half computation equals the same
  chunk computed alone (zeros outside the half, exactly as "same" padding at the half's edges);
* ``head``    — attention, segmentation and spotting modules on one chunk.

Normalisation is a BatchNorm over the 16·17 capsule channels (not over time positions as in the
reference), so nothing ties the segmentation to one chunk length.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from spotting.specs import SOCCERNET_V2, Specifications, from_checkpoint


@dataclass
class ModelConfig:
    feature_dim: int = 512  # input feature size (512 for ResNET_TF2_PCA512, 8576 for Baidu)
    num_classes: int = 17  # follows ``specifications`` when they are given
    framerate: float = 2.0  # feature frames per second (the model's own; the evaluation grid's is the task's)
    chunk_seconds: float = 120.0  # training/inference window
    receptive_field_seconds: float = 40.0  # temporal context of the pyramid
    num_detections: int = 15  # spotting slots per chunk
    dim_capsule: int = 16
    attention: bool = True  # the seed's transformer block after the front end
    attention_heads: int = 4
    attention_ff: int = 512  # the seed's feed-forward width
    # The block attends over tokens of this many frames (their mean); 1 = every frame, as the seed.
    # 4 (2 s tokens) makes whole-game inference ~1.6× faster at the same held-out accuracy (README).
    attention_pool: int = 4
    dropout: float = 0.1
    # The task (class names, label file, evaluation frame rate), saved in the checkpoint with the config;
    # None for checkpoints from before it was saved (17 classes: SoccerNet-v2).
    specifications: Specifications | None = None

    def __post_init__(self) -> None:
        if isinstance(self.specifications, dict):  # as saved by to_dict()
            self.specifications = Specifications.from_dict(self.specifications)
        if self.specifications is not None:
            self.num_classes = self.specifications.num_classes

    @property
    def spec(self) -> Specifications:
        """The task's specifications: the saved ones, SoccerNet-v2 for an older 17-class config, else
        classes named ``class 0`` ... (a config built by hand)."""
        if self.specifications is not None:
            return self.specifications
        try:
            return from_checkpoint(None, self.num_classes)
        except ValueError:
            return SOCCERNET_V2.replace(classes=tuple(f"class {i}" for i in range(self.num_classes)))

    @property
    def chunk_size(self) -> int:
        return int(round(self.chunk_seconds * self.framerate))

    @property
    def receptive_field(self) -> int:
        return int(round(self.receptive_field_seconds * self.framerate))

    @property
    def margin(self) -> int:
        """Frames of context the pyramid needs on each side of a chunk."""
        return self.receptive_field // 2

    def to_dict(self) -> dict:
        """Plain values (``torch.save(weights_only=True)``, JSON); ``ModelConfig(**to_dict())`` rebuilds it."""
        data = asdict(self)
        data["specifications"] = None if self.specifications is None else self.specifications.to_dict()
        return data


# Whole-half inference computes the pyramid by FFT in blocks of this many frames (512 was fastest
# on the 2-core CPU, 256 and 1024 were 20–50 % slower), from this length on (training chunks are shorter).
FFT_BLOCK = 512
FFT_MIN_LENGTH = 512


def _pyramid_kernels(receptive_field: int) -> list[tuple[int, int]]:
    """(kernel, out_channels) of the four pyramid branches (CALF: RF/7, RF/3, RF/2, RF)."""
    return [
        (math.ceil(receptive_field / 7), 8),
        (math.ceil(receptive_field / 3), 16),
        (math.ceil(receptive_field / 2), 32),
        (math.ceil(receptive_field), 64),
    ]


def sinusoidal_encoding(length: int, dim: int) -> torch.Tensor:
    """``(length, dim)`` sinusoidal positional encoding (works for odd ``dim``)."""
    position = torch.arange(length, dtype=torch.float32).unsqueeze(1)
    freqs = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * freqs)
    table[:, 1::2] = torch.cos(position * freqs[: dim // 2])
    return table


class AttentionBlock(nn.Module):
    """Post-norm transformer encoder block (the seed's: 4 heads, FF 152→512→152, ReLU).

    Dropout sits on the two residual branches only: dropping attention probabilities and the wide
    FF activations costs a fifth of a CPU training step in random-number generation for no gain here.
    """

    def __init__(self, dim: int, heads: int, ff: int, dropout: float, positions: int) -> None:
        super().__init__()
        self.heads = heads
        # Sinusoidal positions for up to ``positions`` tokens, added to the input (not saved: derived).
        self.register_buffer("positions", sinusoidal_encoding(positions, dim), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm_1 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, ff), nn.ReLU(inplace=True), nn.Linear(ff, dim))
        self.norm_2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, dim)`` → ``(B, T, dim)``."""
        batch, frames, dim = x.shape
        x = x + self.positions[:frames]
        q, k, v = self.qkv(x).view(batch, frames, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)  # 3 × (B, h, T, d)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, frames, dim)
        x = self.norm_1(x + self.dropout(self.out(attended)))
        return self.norm_2(x + self.dropout(self.ff(x)))


class PooledAttention(nn.Module):
    """The seed's block over tokens of ``pool`` frames: mean-pool the chunk, attend (with positions),
    interpolate the tokens back to frame rate, add them to the input scaled per channel.

    Over 34 overlapping chunks per half the block at frame rate costs more than the rest of
    whole-game inference together on a CPU; on 2-s tokens it costs ~7× less. Two details keep the
    frame-rate precision that tight Average-mAP needs: linear interpolation (repeating each token
    over its frames put steps every 2 s into the segmentation curves, and events on those steps),
    and a per-channel scale that starts at 0 (ReZero), so training starts from plain CALF and adds
    the chunk-wide context only as far as it helps.
    """

    def __init__(self, dim: int, heads: int, ff: int, dropout: float, pool: int, chunk: int) -> None:
        super().__init__()
        self.pool = pool
        self.block = AttentionBlock(dim, heads, ff, dropout, positions=-(-chunk // pool))
        self.scale = nn.Parameter(torch.zeros(dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, dim)`` → ``(B, T, dim)``."""
        batch, frames, dim = x.shape
        channels_first = x.transpose(1, 2)  # the head's own layout: contiguous there
        if frames % self.pool == 0:  # every chunk; a mean over the innermost axis is faster than avg_pool1d
            tokens = channels_first.reshape(batch, dim, frames // self.pool, self.pool).mean(-1)
        else:
            tokens = F.avg_pool1d(channels_first, self.pool, ceil_mode=True)
        tokens = self.block(tokens.transpose(1, 2)).transpose(1, 2)  # (B, dim, ⌈T/pool⌉)
        context = F.interpolate(tokens, scale_factor=self.pool, mode="linear", align_corners=False)[..., :frames]
        return torch.addcmul(x, self.dropout(context.transpose(1, 2)), self.scale)  # x + scale · context


class CALF(nn.Module):
    """CALF + attention. ``forward(x)`` takes ``(B, chunk_size + 2·margin, feature_dim)``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.conv_1 = nn.Linear(c.feature_dim, 128)  # the reference's Conv2d(1→128, (1, D))
        self.conv_2 = nn.Linear(128, 32)
        self.pyramid = nn.ModuleList(nn.Conv1d(32, out, k) for k, out in _pyramid_kernels(c.receptive_field))
        self.channels = 32 + sum(out for _, out in _pyramid_kernels(c.receptive_field))  # 152
        if c.margin < max((k - 1) - (k - 1) // 2 for k, _ in _pyramid_kernels(c.receptive_field)):
            raise ValueError("receptive field margin smaller than the pyramid's padding")
        self.dropout = nn.Dropout(c.dropout)
        self._spectra: tuple | None = None  # (block, kernel, spectrum) kept by _pyramid_spectra
        if c.attention:
            if self.channels % c.attention_heads:
                raise ValueError(f"attention width {self.channels} does not split into {c.attention_heads} heads")
            if c.attention_pool < 1:
                raise ValueError(f"attention_pool must be >= 1, got {c.attention_pool}")
            if c.attention_pool == 1:  # the seed's block at frame rate
                self.attention = AttentionBlock(self.channels, c.attention_heads, c.attention_ff, c.dropout,
                                                positions=c.chunk_size)
            else:
                self.attention = PooledAttention(self.channels, c.attention_heads, c.attention_ff, c.dropout,
                                                 c.attention_pool, c.chunk_size)
        seg_channels = c.dim_capsule * c.num_classes
        self.conv_seg = nn.Conv1d(self.channels, seg_channels, 3, padding=1)
        self.norm_seg = nn.BatchNorm1d(seg_channels, momentum=0.01, eps=1e-3)
        self.conv_spot_1 = nn.Conv1d(seg_channels + c.num_classes, 32, 3, padding=1)
        self.conv_spot_2 = nn.Conv1d(32, 16, 3, padding=1)
        pooled = c.chunk_size
        for _ in range(3):
            pooled = (pooled - 3) // 2 + 1
        self.head_conf = nn.Linear(16 * pooled, c.num_detections * 2)
        self.head_class = nn.Linear(16 * pooled, c.num_detections * c.num_classes)
        self._spread_slots()

    def _spread_slots(self) -> None:
        """Start each detection slot at its own place in the chunk (slot i at (i + ½)/N) with a low
        confidence. With the reference's random init every slot starts near the chunk's middle, so
        the position-based matching hands targets to slots almost at random and the confidences
        learn slowly; spread slots behave like anchors from the first step."""
        n = self.config.num_detections
        with torch.no_grad():
            centres = (torch.arange(n, dtype=torch.float32) + 0.5) / n
            bias = self.head_conf.bias.view(n, 2)
            bias[:, 0] = -2.0  # sigmoid ≈ 0.12: most slots are empty
            bias[:, 1] = torch.log(centres / (1 - centres))
            self.head_conf.weight.mul_(0.1)

    # -- stages ---------------------------------------------------------------------------------
    def encode(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, L, D)`` features → ``(B, L, 32)`` per-frame codes."""
        # In-place ReLUs on fresh layer outputs (autograd-safe) spare a buffer each.
        return F.relu(self.conv_2(F.relu(self.conv_1(features), inplace=True)), inplace=True)

    def context(self, codes: torch.Tensor) -> torch.Tensor:
        """``(B, 32, L + 2·margin)`` codes (zeros outside the half) → ``(B, 152, L)``.

        Whole halves at inference go through :meth:`_pyramid_fft` (same values to ~1e-5, ~3×
        faster on a CPU); training chunks and short inputs through the convolutions themselves."""
        margin = self.config.margin
        length = codes.shape[-1] - 2 * margin
        branches = [codes[..., margin: margin + length]]
        if length >= FFT_MIN_LENGTH and not torch.is_grad_enabled():
            branches.append(F.relu(self._pyramid_fft(codes), inplace=True))
        else:
            for conv, start in self._branch_starts():
                window = codes[..., start: start + length + conv.kernel_size[0] - 1]
                branches.append(F.relu(conv(window), inplace=True))
        return torch.cat(branches, dim=1)

    def _branch_starts(self) -> list[tuple[nn.Conv1d, int]]:
        """Each pyramid branch and where its window starts in the margin-padded codes: "same"
        padding as in the reference, the extra frame of an even kernel on the right."""
        return [(conv, self.config.margin - (conv.kernel_size[0] - 1) // 2) for conv in self.pyramid]

    def _pyramid_spectra(self, block: int) -> torch.Tensor:
        """The four branches as one ``(120, 32, 2·margin + 1)`` correlation kernel → its spectrum
        ``(bins, 120, 32)`` for ``block``-frame FFTs. The 3,840 transforms cost more than a half's
        whole pyramid, so the spectrum is kept for as long as the kernel stays equal."""
        span = 2 * self.config.margin + 1
        kernel = torch.cat([F.pad(conv.weight, (start, span - start - conv.kernel_size[0]))
                            for conv, start in self._branch_starts()]).detach()
        cached = self._spectra
        if (cached is not None and cached[0] == block and cached[1].device == kernel.device
                and cached[1].dtype == kernel.dtype and torch.equal(cached[1], kernel)):
            return cached[2]
        spectra = torch.fft.rfft(kernel.flip(-1), n=block).permute(2, 0, 1).contiguous()  # flipped: convolve
        self._spectra = (block, kernel.clone(), spectra)
        return spectra

    def _pyramid_fft(self, codes: torch.Tensor) -> torch.Tensor:
        """The pyramid (before ReLU) by overlap-save FFT convolution: ``(B, 32, L + 2·margin)`` → ``(B, 120, L)``.

        As convolutions the four branches cost 32·(8·12 + 16·27 + 32·40 + 64·80) ≈ 222k multiply-adds
        per frame; in 512-frame blocks they share one input transform and the channel mixing costs
        ~9k per frame (a 120×32 complex product per frequency bin and block). Blocks overlap by the
        kernel span; each yields its last ``block − span + 1`` outputs."""
        span = 2 * self.config.margin + 1
        block = max(FFT_BLOCK, 1 << (4 * span - 1).bit_length())  # ≥ 4 spans, so most of a block is output
        step = block - span + 1
        spectra = self._pyramid_spectra(block)
        bias = torch.cat([conv.bias for conv in self.pyramid])
        batch, channels, padded = codes.shape
        length = padded - span + 1
        blocks = -(-length // step)
        windows = F.pad(codes, (0, blocks * step + span - 1 - padded)).unfold(-1, block, step)  # (B, 32, n, block)
        spectrum = torch.fft.rfft(windows, dim=-1).permute(3, 1, 0, 2).reshape(-1, channels, batch * blocks)
        mixed = torch.bmm(spectra, spectrum)  # (bins, 120, B·n): channels mixed per frequency
        mixed = mixed.view(-1, spectra.shape[1], batch, blocks).permute(2, 1, 3, 0)  # (B, 120, n, bins)
        out = torch.fft.irfft(mixed, n=block, dim=-1)[..., span - 1:]  # (B, 120, n, step)
        return out.reshape(batch, -1, blocks * step)[..., :length] + bias[:, None]

    def head(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 152, T)`` → segmentation ``(B, T, C)`` in [0, 1] and spotting ``(B, N, 2 + C)``."""
        c = self.config
        x = context
        if c.attention:
            x = self.attention(x.transpose(1, 2)).transpose(1, 2)  # (B, T, 152) inside
        conv_seg = self.conv_seg(x)  # (B, 16·C, T)
        activations = self.norm_seg(conv_seg)
        batch, _, frames = activations.shape
        if torch.is_grad_enabled():  # squared distances of the capsule values from the sphere's centre
            centred = torch.sigmoid(activations) - 0.5
            squares = centred * centred  # not ** 2: ~3× slower on a CPU
        else:  # inference: one buffer instead of three (on a CPU a fresh 3-MB tensor costs more than its arithmetic)
            squares = activations.sigmoid_().sub_(0.5).square_()
        squares = squares.view(batch, c.dim_capsule, c.num_classes, frames)  # (B, 16, C, T)
        segmentation = torch.sqrt(squares.sum(dim=1) * (4 / c.dim_capsule))  # (B, C, T)
        # The spotting module reads the capsule activations and 1 − segmentation (16·C + C channels).
        # Pooled separately and fed to conv_spot_1's two weight blocks, they need no concatenated
        # copy of the activations; pool(relu(·)) = relu(pool(·)) on half the values.
        seg_channels = c.dim_capsule * c.num_classes
        weight = self.conv_spot_1.weight
        spot = (F.conv1d(F.relu(F.max_pool1d(conv_seg, 3, 2)), weight[:, :seg_channels], padding=1)
                + F.conv1d(F.relu(F.max_pool1d(1 - segmentation, 3, 2)), weight[:, seg_channels:], self.conv_spot_1.bias, padding=1))
        spot = F.max_pool1d(F.relu(spot), 3, 2)
        spot = F.max_pool1d(F.relu(self.conv_spot_2(spot)), 3, 2)
        spot = self.dropout(spot.flatten(1))
        conf = torch.sigmoid(self.head_conf(spot)).view(batch, c.num_detections, 2)
        classes = torch.softmax(self.head_class(spot).view(batch, c.num_detections, c.num_classes), dim=-1)
        return segmentation.transpose(1, 2), torch.cat((conf, classes), dim=-1)

    def forward(self, features: torch.Tensor, valid: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Features ``(B, chunk + 2·margin, D)`` with an optional validity mask ``(B, chunk + 2·margin)``
        (False outside the half) → segmentation ``(B, chunk, C)``, spotting ``(B, N, 2 + C)``."""
        codes = self.encode(features)
        if valid is not None:
            codes = codes * valid.unsqueeze(-1).to(codes.dtype)
        return self.head(self.context(codes.transpose(1, 2)))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
