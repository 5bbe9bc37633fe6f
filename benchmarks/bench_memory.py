"""Training memory and speed against the number of games: peak memory must not grow with the data.

    python -m benchmarks.bench_memory [--games 10 20 40] [--processes 1 2] [--batch-size 16] [--json]

Writes up to 40 synthetic games with 8,576-d float16 features (Baidu's dimension; two 45-min halves
at 2 fps: 93 MB a half, 7.4 GB for 40 games) as *sparse* files — only the frames around each event
hold values, the rest are holes that read as zeros and take no disk — then trains 2 epochs on the
first 10, 20, 40 of them with ``python -m spotting.train`` and with ``torchrun --nproc_per_node=2``
(the same global batch), no validation. While it runs, every process of the job (launcher, ranks,
DataLoader workers) is sampled every 0.2 s:

* job memory: the sum of the processes' PSS (proportional set size: a page shared by k processes
  counts 1/k in each, so the page cache mapped by several processes and the batches they pass each
  other through shared memory are counted once) — its peak;
* largest process: the highest peak resident set (VmHWM) of any single process;
* steps/s: global batches per second in the second epoch (the first includes start-up).

``--unreleased`` adds one-process rows with :meth:`spotting.sampling.HalfData.release_pages` turned
off, to show what the memory map alone does: every feature page a batch ever read stays resident.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FEATURES = "bench8576.npy"
DIM, FRAMES, EVENTS_PER_HALF = 8576, 5400, 50


def write_games(root: Path, count: int) -> list[str]:
    """``count`` games of sparse float16 features + labels under ``root``; their folder names."""
    from spotting.soccernet import Annotations
    from spotting.synth.game import labels_dict

    names = []
    for g in range(count):
        folder = root / f"game{g:03d}"
        names.append(folder.name)
        if (folder / "Labels-v2.json").is_file():
            continue
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(g)
        parts = []
        for half in (1, 2):
            # open_memmap sizes the file by truncation: a hole until written
            features = np.lib.format.open_memmap(folder / f"{half}_{FEATURES}", mode="w+", dtype=np.float16,
                                                 shape=(FRAMES, DIM))
            frames = np.sort(rng.choice(np.arange(10, FRAMES - 10), EVENTS_PER_HALF, replace=False))
            classes = rng.integers(0, 17, EVENTS_PER_HALF)
            for f, c in zip(frames, classes):
                features[f: f + 4, c * 500: (c + 1) * 500] = 1.0  # a class signature over 4 frames
            features.flush()
            del features
            n = EVENTS_PER_HALF
            parts.append(Annotations.from_lists(np.full(n, half), frames * 500, classes, np.ones(n, bool),
                                                ["home"] * n, np.ones(n)))
        (folder / "Labels-v2.json").write_text(json.dumps(labels_dict(Annotations.concatenate(parts), "home", "away")))
    return names


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry))
    return tree


def _field_kb(path: str, name: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Monitor(threading.Thread):
    """Samples a process tree: peak summed PSS and the highest VmHWM of any one process (KiB)."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_pss_kb = self.peak_hwm_kb = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            tree, pids, stack = _children(), [], [self.pid]
            while stack:
                pid = stack.pop()
                pids.append(pid)
                stack += tree.get(pid, [])
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_field_kb(f"/proc/{p}/smaps_rollup", "Pss") for p in pids))
            self.peak_hwm_kb = max([self.peak_hwm_kb] + [_field_kb(f"/proc/{p}/status", "VmHWM") for p in pids])
            self.done.wait(self.interval)


def run_training(data: Path, games: int, processes: int, batch_size: int, steps: int, workers: int,
                 out: Path, release: bool = True) -> dict:
    """Train 2 epochs of ``steps`` global batches on the first ``games`` games; memory and speed."""
    listing = out.parent / f"games{games}.txt"
    listing.write_text("\n".join(f"game{g:03d}" for g in range(games)) + "\n")
    args = ["--soccernet-dir", str(data), "--features", FEATURES, "--train-split", str(listing), "--valid-split", "",
            "--out", str(out), "--epochs", "2", "--chunks-per-epoch", str(steps * batch_size),
            "--batch-size", str(batch_size), "--device", "cpu", "--workers", str(workers), "--force"]
    if not release:  # the same command with HalfData.release_pages a no-op (in the DataLoader workers too)
        command = [sys.executable, "-c", "import sys, spotting.sampling as s, spotting.train as t; "
                   "s.HalfData.release_pages = lambda self: None; sys.exit(t.cli(sys.argv[1:]))", *args]
    elif processes == 1:
        command = [sys.executable, "-m", "spotting.train", *args]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   "-m", "spotting.train", *args]
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    monitor = Monitor(child.pid)
    monitor.start()
    stdout, stderr = child.communicate()
    monitor.done.set()
    monitor.join()
    if child.returncode != 0:
        raise RuntimeError(f"training failed ({child.returncode}):\n{stderr[-3000:]}")
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {"games": games, "processes": processes, "released": release, "batch_size": batch_size,
            "peak_job_pss_mib": round(monitor.peak_pss_kb / 1024), "peak_process_rss_mib": round(monitor.peak_hwm_kb / 1024),
            "steps_per_s": round(steps / epochs[-1]["seconds"], 3), "wall_s": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_memory", description=__doc__.splitlines()[0])
    p.add_argument("--games", type=int, nargs="+", default=[10, 20, 40])
    p.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    p.add_argument("--batch-size", type=int, default=16, help="global batch (default %(default)s)")
    p.add_argument("--steps", type=int, default=6, help="global batches per epoch (default %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="DataLoader workers per process (default %(default)s)")
    p.add_argument("--unreleased", action="store_true", help="also one-process runs without releasing read pages")
    p.add_argument("--data", type=Path, default=None, help="keep the synthetic games here (default: a temporary folder)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    load_before = os.getloadavg()[0]  # steps/s depend on what else runs on the machine: say so
    data = args.data or Path(tempfile.mkdtemp(prefix="bench-memory-"))
    work = Path(tempfile.mkdtemp(prefix="bench-memory-runs-"))
    try:
        write_games(data, max(args.games))
        apparent = sum(f.stat().st_size for f in data.rglob(f"*_{FEATURES}"))
        on_disk = sum(f.stat().st_blocks * 512 for f in data.rglob(f"*_{FEATURES}"))
        rows = []
        for processes in args.processes:
            for games in args.games:
                rows.append(run_training(data, games, processes, args.batch_size, args.steps, args.workers,
                                         work / f"p{processes}g{games}"))
                print(json.dumps(rows[-1]), file=sys.stderr)
        if args.unreleased:
            for games in args.games:
                rows.append(run_training(data, games, 1, args.batch_size, args.steps, args.workers,
                                         work / f"u{games}", release=False))
                print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.data is None:
            shutil.rmtree(data, ignore_errors=True)
    load = (round(load_before, 1), round(os.getloadavg()[0], 1))
    if args.json:
        print(json.dumps({"feature_bytes": apparent, "feature_bytes_on_disk": on_disk, "load_average": load,
                          "cpus": os.cpu_count(), "rows": rows}, indent=1))
        return 0
    print(f"features: {apparent / 1e9:.1f} GB for {max(args.games)} games ({on_disk / 1e6:.0f} MB on disk, sparse); "
          f"global batch {args.batch_size}, {args.workers} DataLoader worker(s) per process, 2 epochs × {args.steps} steps; "
          f"{os.cpu_count()} CPUs, 1-min load average {load[0]} before, {load[1]} after")
    print("| games | features (GB) | processes | pages released | peak job memory (PSS, MiB) | largest process peak RSS (MiB) | steps/s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['games']} | {apparent * r['games'] / max(args.games) / 1e9:.1f} | {r['processes']} | "
              f"{'yes' if r['released'] else 'no'} | {r['peak_job_pss_mib']:,} | {r['peak_process_rss_mib']:,} | {r['steps_per_s']:.2f} |")
    for processes in args.processes:
        mine = [r for r in rows if r["processes"] == processes and r["released"]]
        if len(mine) > 1:
            growth = mine[-1]["peak_job_pss_mib"] / mine[0]["peak_job_pss_mib"] - 1
            print(f"{processes} process(es): peak job memory {mine[-1]['games']} vs {mine[0]['games']} games: {growth:+.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
