"""Feature extraction speed: frames/s of each extractor and what a 45-minute half costs.

    python -m benchmarks.bench_features [--seconds 60] [--device auto] [--backbones ResNET_TF2 EfficientNetLite0]

On a generated clip (H.264, 25 fps) at SoccerNet's two video sizes (398×224 "224p", 1280×720 "720p"):
1. frame reading alone (decode every frame, keep 2 per second, resize + crop, FrameCV's rules);
2. each backbone alone on batches of 224×224 frames (the best of ``--batches`` after one warm-up
   batch: other processes on a shared machine only ever slow a batch down), random weights (the same
   arithmetic as ImageNet's; nothing downloaded);
3. ``extract_half`` end to end on the 224p clip (decoding in a thread alongside the backbone).
A 45-minute half is 5,400 feature frames at 2 fps; its cost is extrapolated from each rate.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

HALF_FRAMES = 45 * 60 * 2  # feature frames in a 45-minute half at 2 fps


def write_clip(path: Path, width: int, height: int, seconds: float, fps: int = 25) -> Path:
    """Moving blocks over a textured pitch, so the decoder has real work (not a still frame)."""
    import av

    rng = np.random.default_rng(0)
    texture = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps), options={"preset": "veryfast", "crf": "23"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * fps)):
            image = np.roll(texture, i * 3, axis=1) + np.array((20, 100, 30), np.uint8)
            for k in range(22):
                x = int((k * 97 + i * (k % 5 + 1)) % (width - 12))
                y = int((k * 53 + i * (k % 3)) % (height - 12))
                image[y:y + 12, x:x + 12] = (255, 255, 255) if k % 2 else (0, 0, 200)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def bench_reading(path: Path) -> tuple[float, int]:
    from spotting.features import frames

    info = frames.probe(path)
    start = time.perf_counter()
    count = sum(1 for _ in frames.FrameReader(info, frames.Selection(info.fps)))
    return time.perf_counter() - start, count


def bench_backbone(name: str, device: str, batch: int, batches: int) -> tuple[float, float]:
    """Wall seconds per frame of the backbone alone (best of ``batches`` batches after a warm-up) and
    CPU seconds per frame (all of this process's threads; less sensitive to other processes)."""
    from spotting.features.extractors import build_backbone

    backbone = build_backbone(name, "random", device)
    frames = np.random.default_rng(1).integers(0, 256, (batch, 224, 224, 3), dtype=np.uint8)
    backbone(frames)  # warm-up (allocations, cuDNN autotuning)
    times, cpu = [], []
    for _ in range(batches):
        if backbone.device.type == "cuda":
            torch.cuda.synchronize()
        start, start_cpu = time.perf_counter(), time.process_time()
        backbone(frames)
        if backbone.device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) / batch)
        cpu.append((time.process_time() - start_cpu) / batch)
    return float(np.min(times)), float(np.median(cpu))


def bench_end_to_end(name: str, clip: Path, device: str, batch: int | None) -> tuple[float, int]:
    from spotting.features import extract
    from spotting.features.extractors import build_backbone

    backbone = build_backbone(name, "random", device)
    with tempfile.TemporaryDirectory() as game:
        result = extract.extract_half(clip, game, 1, name, backbone=backbone, batch_size=batch, log=lambda _: None)
    return result.seconds, result.frames


def minutes(seconds_per_frame: float) -> str:
    total = seconds_per_frame * HALF_FRAMES
    return f"{total / 60:.1f} min" if total >= 60 else f"{total:.0f} s"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="length of the generated clips")
    p.add_argument("--device", default="auto")
    p.add_argument("--backbones", nargs="+", default=["EfficientNetLite0", "ResNET_TF2"])
    p.add_argument("--batch-size", type=int, default=None, help="default: 16 on a CPU, 64 on CUDA")
    p.add_argument("--batches", type=int, default=4, help="timed batches per backbone (the best counts)")
    p.add_argument("--skip-end-to-end", action="store_true")
    p.add_argument("--skip-reading", action="store_true")
    args = p.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    from spotting.checkpoint import resolve_device

    device = resolve_device(args.device)
    batch = args.batch_size or (16 if device.type == "cpu" else 64)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"device: {where}; batch {batch}; load average {load}; a 45-min half = {HALF_FRAMES} feature frames\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clips = {}
        for label, (w, h) in {"224p": (398, 224), "720p": (1280, 720)}.items():
            if args.skip_reading and (label != "224p" or args.skip_end_to_end):
                continue
            clips[label] = write_clip(Path(tmp) / f"{label}.mp4", w, h, args.seconds)
            if args.skip_reading:
                continue
            seconds, count = bench_reading(clips[label])
            rows.append((f"frame reading, {label} H.264 25 fps", count / seconds, minutes(seconds / count)))
        for name in args.backbones:
            per_frame, cpu_per_frame = bench_backbone(name, str(device), batch, args.batches)
            rows.append((f"{name} backbone alone ({cpu_per_frame:.2f} CPU-s/frame)", 1 / per_frame, minutes(per_frame)))
            if not args.skip_end_to_end:
                seconds, count = bench_end_to_end(name, clips["224p"], str(device), batch)
                rows.append((f"{name} end to end, 224p clip", count / seconds, minutes(seconds / count)))
    print("| step | frames/s | a 45-min half |\n|---|---|---|")
    for label, rate, half in rows:
        print(f"| {label} | {rate:,.2f} | {half} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
