"""End to end in headless Debian Chromium: ``streamlit run app.py`` on the demo game, driven by Playwright.

Skipped when /usr/bin/chromium or playwright is missing, unless ``STUDIO_REQUIRE_BROWSER=1`` (CI),
which turns the skip into a failure. ``STUDIO_BROWSER_APP`` points the tests at another entry
script and ``STUDIO_BROWSER_QUERY`` adds a query string (e.g. ``?src=soccernet&split=test`` with
``SOCCERNET_DIR`` set) to try the same checks on other games. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
import time

import pytest

from browser_support import ARTIFACTS, CHROMIUM, REPO, chromium_browser, streamlit_server

pytestmark = pytest.mark.browser

PLAYER = "[data-testid='studio-player']"
VIDEO = f"{PLAYER} video"
PAGE_READY_S = 60  # first paint of the demo (model inference on 2 shared cores) + slack


def _require_browser() -> None:
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} not found (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install playwright; no browser download needed)"
    if problem and os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required (STUDIO_REQUIRE_BROWSER=1) but {problem}")
    if problem:
        pytest.skip(problem)


@pytest.fixture(scope="module")
def server_url():
    _require_browser()
    script = os.environ.get("STUDIO_BROWSER_APP", "app.py")
    if not (REPO / script).is_file() and not os.path.isabs(script):
        pytest.fail(f"{script} not found in {REPO}")
    with streamlit_server(script) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server_url):
    with chromium_browser() as browser:
        yield browser


@pytest.fixture()
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 1500, "height": 2200})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server_url + os.environ.get("STUDIO_BROWSER_QUERY", ""))
    wait_until_ready(page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


# ------------------------------------------------------------------------- page helpers

def wait_until_ready(page) -> None:
    """The player is drawn, its video has metadata and Streamlit finished running the script."""
    page.wait_for_selector(f"{PLAYER} .asp-plot .main-svg", timeout=PAGE_READY_S * 1000)
    page.wait_for_function(f"() => document.querySelector(`{VIDEO}`)?.readyState >= 1", timeout=30_000)
    wait_idle(page)


def wait_idle(page, quiet_s: float = 0.6, timeout_s: float = 30.0) -> None:
    """Wait until no script run is in progress (Streamlit's status widget is gone) for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    quiet_since = None
    while time.monotonic() < deadline:
        running = page.locator("[data-testid='stStatusWidget']").count() > 0
        if running:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
        time.sleep(0.1)
    raise TimeoutError("the app kept running")


def video_state(page) -> dict:
    return page.evaluate(f"""() => {{
        const v = document.querySelector(`{VIDEO}`);
        return {{currentTime: v.currentTime, duration: v.duration, paused: v.paused, src: v.currentSrc}};
    }}""")


def marker_count(page) -> int:
    return page.locator(f"{PLAYER} .asp-plot .scatterlayer path.point").count()


def cursor_x(page) -> float | None:
    value = page.get_attribute(f"{PLAYER} .asp-cursor", "data-x")
    return None if value is None else float(value)


def threshold_slider(page):
    slider = page.get_by_role("slider", name=re.compile("threshold", re.IGNORECASE)).first
    slider.wait_for(state="attached", timeout=10_000)
    return slider


def raise_threshold(page) -> None:
    """Move the first threshold slider up by keyboard, as a user would, and wait for the rerun."""
    slider = threshold_slider(page)
    slider.focus()
    for _ in range(15):
        slider.press("ArrowRight")
    page.keyboard.press("Tab")  # leave the slider so the value is committed
    wait_idle(page)


def wait_marker_count_change(page, before: int, timeout_s: float = 15.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        count = marker_count(page)
        if count != before:
            return count
        time.sleep(0.1)
    return marker_count(page)


def pause_at(page, seconds: float) -> None:
    page.evaluate(f"""() => {{ const v = document.querySelector(`{VIDEO}`); v.pause(); v.currentTime = {seconds}; }}""")
    page.wait_for_function(f"() => Math.abs(document.querySelector(`{VIDEO}`).currentTime - {seconds}) < 0.1 "
                           f"&& !document.querySelector(`{VIDEO}`).seeking")
    wait_idle(page)


def pick_marker(page) -> dict:
    """Centre (page pixels) and time of an event marker well inside the plot, away from its neighbours."""
    marker = page.evaluate(f"""() => {{
        const gd = document.querySelector(`{PLAYER} .asp-plot`);
        const xa = gd._fullLayout.xaxis;
        const box = gd.getBoundingClientRect();
        const points = [...gd.querySelectorAll('.scatterlayer path.point')].map(p => {{
            const r = p.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, t: p.__data__ && p.__data__.x}};
        }}).filter(p => typeof p.t === 'number' && p.w > 0
                    && p.x > box.left + xa._offset + 10 && p.x < box.left + xa._offset + xa._length - 10);
        const lonely = points.filter(p => points.every(q => q === p || Math.hypot(q.x - p.x, q.y - p.y) > 14));
        const pool = lonely.length ? lonely : points;
        pool.sort((a, b) => Math.abs(a.t - 0.5 * xa.range[1]) - Math.abs(b.t - 0.5 * xa.range[1]));
        return pool[0] || null;
    }}""")
    assert marker is not None, "no event marker drawn in the plot area"
    return marker


def expected_half_duration_s() -> float | None:
    """Length of the demo's first half from its features (frames / 2 fps), when the demo exists."""
    import numpy as np

    from spotting.errors import InputError
    try:
        from spotting.demo import demo_game

        path = demo_game().features_path(1)
    except (ImportError, InputError):
        return None
    return float(np.load(path, mmap_mode="r").shape[0]) / 2.0 if path.is_file() else None


# ------------------------------------------------------------------------- tests

def test_demo_page_has_video_of_the_half(page):
    state = video_state(page)
    assert state["src"], "the player has no video source"
    half_s = float(page.get_attribute(PLAYER, "data-half-duration"))
    assert state["duration"] == pytest.approx(half_s, abs=2.0), "video length differs from the half shown"
    expected = expected_half_duration_s()
    if expected is not None and os.environ.get("STUDIO_BROWSER_APP") is None:
        assert state["duration"] == pytest.approx(expected, abs=2.0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-page.png"), full_page=True)


def test_threshold_slider_changes_markers_and_keeps_position(page):
    pause_at(page, 42.0)
    before = marker_count(page)
    assert before > 0
    page.evaluate(f"() => {{ document.querySelector(`{VIDEO}`).__survivor = true; }}")
    raise_threshold(page)
    after = wait_marker_count_change(page, before)
    assert after != before, "moving the threshold did not change the number of event markers"
    state = video_state(page)
    assert state["currentTime"] == pytest.approx(42.0, abs=0.25), "a threshold change moved the video"
    assert page.evaluate(f"() => document.querySelector(`{VIDEO}`).__survivor === true"), \
        "the <video> element was rebuilt by the rerun"


def test_clicking_a_marker_seeks_the_video(page):
    pause_at(page, 1.0)
    marker = pick_marker(page)
    page.mouse.move(marker["x"], marker["y"])
    page.mouse.click(marker["x"], marker["y"])
    page.wait_for_function(
        f"() => Math.abs(document.querySelector(`{VIDEO}`).currentTime - {marker['t']}) < 1.0", timeout=5_000)
    assert video_state(page)["currentTime"] == pytest.approx(marker["t"], abs=1.0)


def test_playing_moves_the_cursor(page):
    pause_at(page, 10.0)
    x_before = cursor_x(page)
    assert x_before is not None, "no cursor drawn"
    page.evaluate(f"() => document.querySelector(`{VIDEO}`).play()")
    time.sleep(2.0)
    state = video_state(page)
    x_after = cursor_x(page)
    page.evaluate(f"() => document.querySelector(`{VIDEO}`).pause()")
    assert state["currentTime"] > 11.0, f"the video did not play: {state}"
    assert x_after is not None and x_after > x_before, f"the cursor did not move ({x_before} → {x_after})"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(PLAYER).screenshot(path=str(ARTIFACTS / "player-playing.png"))


def test_keyboard_shortcuts(page):
    pause_at(page, 30.0)
    page.locator(f"{PLAYER} .asp-time").click()  # focus the page, not a widget
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => Math.abs(document.querySelector(`{VIDEO}`).currentTime - 35) < 0.3")
    page.keyboard.press("n")
    page.wait_for_function(f"() => document.querySelector(`{VIDEO}`).currentTime > 35.2")
    page.keyboard.press("?")
    assert page.locator(f"{PLAYER} .asp-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator(f"{PLAYER} .asp-help").is_visible()
