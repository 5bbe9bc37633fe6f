"""App responsiveness in headless Chromium: first paint of the demo and threshold changes; the split page.

    python -m benchmarks.bench_app [--changes 6] [--data ../shared/data]

First paint: ``streamlit run app.py`` process start → the timeline's event markers drawn.
Threshold change: an arrow key on the threshold slider → the event-count caption updated and the
page idle again. Goals (issue 5): first paint ≤ 10 s on 2 cores, a threshold change well under 1 s.

Split page (issue 13), on a second fresh server with the real test split and its two real models
(``--data``): ``/split?split=test`` opened → both models' headline figures drawn and the page idle
(JSON parsing and every figure included); then a threshold change and a δ change → the figures
updated and idle. Goals: ≤ 3 s, ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHROMIUM_ARGS, free_port  # noqa: E402

CAPTION_CHANGED = """([before]) => {
  const e = [...document.querySelectorAll('[data-testid=stCaptionContainer]')]
    .find(x => x.innerText.includes('ground-truth events'));
  return e && e.innerText !== before; }"""
IDLE = "() => !document.querySelector('[data-testid=stStatusWidget] [data-testid=stStatusWidgetRunningIcon]')"


HEADLINE = "[data-testid=stMarkdownContainer]:has-text('Average-mAP loose')"
HEADLINES = """() => [...document.querySelectorAll('[data-testid=stMarkdownContainer]')]
    .filter(x => x.innerText.includes('Average-mAP loose')).map(x => x.innerText).join(' | ')"""
HEADLINE_CHANGED = f"""([before]) => ({HEADLINES})() !== before"""


def _server(port: int, env: dict | None = None) -> subprocess.Popen:
    import os

    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true", "--server.address", "127.0.0.1"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, **(env or {})})
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
            return server
        except OSError:
            time.sleep(0.05)


def split_page(data: Path, changes: int) -> tuple[float, list[float]]:
    """Seconds from opening /split?split=test on a fresh server to the figures drawn; seconds per change."""
    from playwright.sync_api import sync_playwright

    port = free_port(8731)
    server = _server(port, {"SOCCERNET_DIR": str(data / "soccernet")})
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1400})
            t = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/split?split=test&thr=0.5")  # both models have predictions near 0.5
            page.locator(HEADLINE).nth(1).wait_for(timeout=120_000)
            page.wait_for_function(IDLE, timeout=60_000)
            first = time.perf_counter() - t
            updates = []
            for i in range(changes):
                page.wait_for_timeout(400)
                before = page.evaluate(HEADLINES)
                slider = page.get_by_role("slider").nth(i % 2)  # threshold, then δ
                slider.focus()
                t = time.perf_counter()
                page.keyboard.press("ArrowRight" if (i // 2) % 2 == 0 else "ArrowLeft")
                page.wait_for_function(HEADLINE_CHANGED, arg=[before], timeout=20_000)
                page.wait_for_function(IDLE, timeout=20_000)
                updates.append(time.perf_counter() - t)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    return first, updates


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=6)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder with soccernet/ and predictions/ (the split page's part)")
    args = parser.parse_args()
    port = free_port(8701)
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true", "--server.address", "127.0.0.1"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        healthy = time.perf_counter() - started
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1400})
            page.goto(f"http://127.0.0.1:{port}/")
            # The player's timeline (a hidden plot elsewhere on the page may hold points that never show).
            page.wait_for_selector("[data-testid='studio-player'] .scatterlayer .point", state="attached", timeout=120_000)
            first_paint = time.perf_counter() - started
            caption = page.locator("[data-testid=stCaptionContainer]", has_text="ground-truth events").first
            slider = page.get_by_role("slider").first
            changes = []
            for i in range(args.changes):
                before = caption.inner_text()
                slider.focus()
                t = time.perf_counter()
                page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
                page.wait_for_function(CAPTION_CHANGED, arg=[before], timeout=20_000)
                page.wait_for_function(IDLE, timeout=20_000)
                changes.append(time.perf_counter() - t)
                page.wait_for_timeout(400)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    print(f"server healthy after {healthy:.2f} s")
    print(f"first paint of the demo (markers drawn) {first_paint:.2f} s after server start   goal ≤ 10 s")
    print(f"threshold change → page updated: median {statistics.median(changes):.2f} s, max {max(changes):.2f} s "
          f"over {len(changes)} changes   goal well under 1 s")
    if (args.data / "predictions").is_dir():
        first, updates = split_page(args.data, args.changes)
        print(f"split page, 2 real models × 100 test games: figures drawn {first:.2f} s after opening it on a fresh "
              f"server   goal ≤ 3 s")
        print(f"split page, threshold or δ change → figures updated: median {statistics.median(updates):.2f} s, "
              f"max {max(updates):.2f} s over {len(updates)} changes   goal ≤ 0.5 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
