"""End to end in headless Debian Chromium: ``streamlit run app.py`` on the demo game, driven by Playwright.

Skipped when /usr/bin/chromium or playwright is missing, unless ``STUDIO_REQUIRE_BROWSER=1`` (CI),
which turns the skip into a failure. ``STUDIO_BROWSER_APP`` points the tests at another entry
script and ``STUDIO_BROWSER_QUERY`` adds a query string (e.g. ``?src=soccernet&split=test`` with
``SOCCERNET_DIR`` set) to try the same checks on other games. Screenshots land in ``test-artifacts/``.

The games without video run on a second server over a small SoccerNet folder made for the tests
(two games, labels and two saved prediction sets, no video, no features).
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from urllib.parse import urlencode

import pytest

from browser_support import ARTIFACTS, CHROMIUM, REPO, chromium_browser, streamlit_server
from test_player import GAME_A, write_games_without_video

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
    with opened(browser, server_url + os.environ.get("STUDIO_BROWSER_QUERY", "")) as page:
        wait_until_ready(page)
        yield page


@contextmanager
def opened(browser, url: str, viewport=(1500, 2200)):
    """A fresh browser page at ``url``; fails the test on any JavaScript error."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def novideo_url(tmp_path_factory, browser):
    """A second server over a SoccerNet folder whose games have no video."""
    root = tmp_path_factory.mktemp("games-without-video")
    soccernet = write_games_without_video(root)
    env = {"SOCCERNET_DIR": str(soccernet), "SOCCERNET_PREDICTIONS_DIR": str(root / "predictions"),
           "STUDIO_DEMO_DIR": str(root / "no-demo")}
    with streamlit_server("app.py", env=env) as url:
        yield url


def novideo_game_url(base: str, **params: str) -> str:
    return base + "/?" + urlencode({"src": "soccernet", "split": "all folders", "game": GAME_A, **params})


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


def wait_drawn(page) -> None:
    """The player's plot is drawn and the script run is over (a page without video)."""
    page.wait_for_selector(f"{PLAYER} .asp-plot .main-svg", timeout=PAGE_READY_S * 1000)
    wait_idle(page)


def player_time(page) -> str:
    """The player's clock text, e.g. ``"02:05.9 / 45:00"``."""
    return page.locator(f"{PLAYER} .asp-time").inner_text()


def now_line(page) -> str:
    return page.locator("[data-testid='stCaptionContainer']").filter(has_text=re.compile(r"^Now ")).first.inner_text()


def wait_now_line(page, clock: str, timeout_s: float = 15.0) -> str:
    """Wait until the page's "Now" line shows ``clock`` (it follows the browser's report)."""
    deadline = time.monotonic() + timeout_s
    text = ""
    while time.monotonic() < deadline:
        text = now_line(page)
        if text.startswith(f"Now {clock}"):
            return text
        time.sleep(0.2)
    raise AssertionError(f"the Now line never showed {clock}: {text!r}")


def player_events(page) -> list[float]:
    """The times n / p jump between, as the player holds them."""
    return page.evaluate(f"() => document.querySelector(`{PLAYER}`).__player.events")


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
        const area = gd.querySelector('.nsewdrag').getBoundingClientRect();  // the plot area, from the DOM
        const end = gd.layout.xaxis.range[1];
        const points = [...gd.querySelectorAll('.scatterlayer path.point')].map(p => {{
            const r = p.getBoundingClientRect();
            return {{x: r.left + r.width / 2, y: r.top + r.height / 2, w: r.width, t: p.__data__ && p.__data__.x}};
        }}).filter(p => typeof p.t === 'number' && p.w > 0 && p.x > area.left + 10 && p.x < area.right - 10);
        const lonely = points.filter(p => points.every(q => q === p || Math.hypot(q.x - p.x, q.y - p.y) > 14));
        const pool = lonely.length ? lonely : points;
        pool.sort((a, b) => Math.abs(a.t - 0.5 * end) - Math.abs(b.t - 0.5 * end));
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
    events = player_events(page)
    expected = min(e for e in events if e > 35.25)
    page.keyboard.press("n")  # exactly to the next event, not just "further"
    page.wait_for_function(f"() => Math.abs(document.querySelector(`{VIDEO}`).currentTime - {expected}) < 0.05")
    reached = sum(e <= expected + 0.25 for e in events)
    assert page.locator(f"{PLAYER} .asp-event-info").inner_text() == f"event {reached} / {len(events)}"
    page.keyboard.press("p")
    previous = max(e for e in events if e < expected - 0.75)
    page.wait_for_function(f"() => Math.abs(document.querySelector(`{VIDEO}`).currentTime - {previous}) < 0.05")
    page.keyboard.press("?")
    assert page.locator(f"{PLAYER} .asp-help").is_visible()
    page.keyboard.press("Escape")
    assert not page.locator(f"{PLAYER} .asp-help").is_visible()


def test_shortcut_keys_reach_the_player_after_clicking_a_control(page):
    """#14: after a click on "Next false alarm" (now "Next ›"), Space pressed that button again instead of playing.
    The same for each kind of control that takes a key: a button, a slider, a switch."""
    pause_at(page, 20.0)
    page.get_by_role("button", name="Next ›", exact=True).click()  # the next event of the list, a button like any
    wait_idle(page)
    jumped_to = video_state(page)["currentTime"]
    page.keyboard.press(" ")
    page.wait_for_function(f"() => !document.querySelector(`{VIDEO}`).paused", timeout=5_000)
    played = video_state(page)
    page.evaluate(f"() => document.querySelector(`{VIDEO}`).pause()")
    assert jumped_to - 0.1 <= played["currentTime"] < jumped_to + 3, "Space did not play from where the jump landed"

    pause_at(page, 20.0)
    slider = threshold_slider(page)
    value = slider.get_attribute("value") or slider.get_attribute("aria-valuenow")
    thumb = slider.evaluate_handle("(input) => input.closest('[data-rac]') || input.parentElement")
    box = thumb.as_element().bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_idle(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"() => Math.abs(document.querySelector(`{VIDEO}`).currentTime - 25) < 0.3", timeout=5_000)
    wait_idle(page)
    assert (slider.get_attribute("value") or slider.get_attribute("aria-valuenow")) == value, "the slider took the arrow"

    switch = page.get_by_role("switch", name="Ground truth rows")
    page.get_by_text("Ground truth rows").click()
    wait_idle(page)
    checked = switch.is_checked()
    page.keyboard.press(" ")
    page.wait_for_function(f"() => !document.querySelector(`{VIDEO}`).paused", timeout=5_000)
    page.evaluate(f"() => document.querySelector(`{VIDEO}`).pause()")
    wait_idle(page)
    assert switch.is_checked() == checked, "the switch took Space"


def test_clicking_the_same_table_row_again_seeks_again(page):
    """#14: a second click on the row clicked before (after the playhead moved away) did nothing."""
    pause_at(page, 5.0)
    grid = page.locator("[data-testid='stMain'] [data-testid='stDataFrame']").first  # the event list beside the player
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()

    def click_row(row: int, x: float) -> float:  # row 0 is the first data row, under the 35-px header
        before = video_state(page)["currentTime"]
        page.mouse.click(box["x"] + x, box["y"] + 35 + 35 * row + 17)
        page.wait_for_function(f"() => Math.abs(document.querySelector(`{VIDEO}`).currentTime - {before}) > 0.5",
                               timeout=10_000)
        wait_idle(page)
        return video_state(page)["currentTime"]

    first = click_row(2, 20)  # the row's time
    pause_at(page, 5.0)
    assert click_row(2, 20) == pytest.approx(first, abs=0.05)
    pause_at(page, 5.0)
    assert click_row(2, box["width"] / 2) == pytest.approx(first, abs=0.05)  # any cell of the row


def test_player_clock_reads_as_the_now_line(page):
    """#14: the player showed 15:59.0 while the "Now" line said 15:58 (it rounded, the page truncates)."""
    pause_at(page, 125.96)
    assert player_time(page).startswith("02:05.9 / ")
    wait_now_line(page, "02:05")


def test_without_video_a_compact_notice_replaces_the_video_and_play_is_off(browser, novideo_url):
    """#14: a fresh load of a game without video showed an empty black box, no notice, and Play."""
    with opened(browser, novideo_game_url(novideo_url), viewport=(1366, 1400)) as page:
        wait_drawn(page)
        root = page.locator(PLAYER)
        assert "asp-no-video" in (root.get_attribute("class") or "")
        assert not page.locator(VIDEO).is_visible()
        notice = page.locator(f"{PLAYER} .asp-novideo")
        assert notice.is_visible() and "No video" in notice.inner_text()
        stage = page.locator(f"{PLAYER} .asp-stage").bounding_box()
        assert stage["height"] <= 48, "the notice should take one line, not the video's height"
        controls = page.locator(f"{PLAYER} .asp-controls").bounding_box()
        plot = page.locator(f"{PLAYER} .asp-plot-wrap").bounding_box()
        assert plot["y"] - (controls["y"] + controls["height"]) < 20, "the timeline should sit under the controls"
        assert page.locator(f"{PLAYER} .asp-play").is_disabled()
        before = player_time(page)
        page.locator(f"{PLAYER} .asp-time").click()
        page.keyboard.press(" ")
        time.sleep(1.0)
        assert player_time(page) == before, "Space played a clock with no video"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "no-video-1366.png"))


def test_without_video_one_clock_from_the_link_and_zero_in_a_new_game(browser, novideo_url):
    """#14: after a link with t=600 the player said 0:00 while "Now" said 10:00; another game kept the time."""
    with opened(browser, novideo_game_url(novideo_url, t="600")) as page:
        wait_drawn(page)
        assert player_time(page).startswith("10:00.0 / ")
        wait_now_line(page, "10:00")
        page.locator(f"{PLAYER} .asp-time").click()
        page.keyboard.press("n")  # the next event after 10:00 is at 10:50
        page.wait_for_function(f"() => document.querySelector(`{PLAYER} .asp-time`).textContent.startsWith('10:50.0')",
                               timeout=5_000)
        wait_now_line(page, "10:50")
        page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(has_text="Game (").click()
        page.get_by_role("option", name=re.compile("Second 2 - 2 Other")).click()
        page.wait_for_function(f"() => document.querySelector(`{PLAYER} .asp-time`).textContent.startsWith('00:00.0')",
                               timeout=20_000)
        wait_idle(page)
        wait_now_line(page, "00:00")
        assert not re.search(r"[?&]t=", page.url), page.url


# ------------------------------------------------------------------------- #14: the page on a laptop and a desktop

CLIPPED_JS = """() => {
  // Every control label, chip and option that does not fit its box (an ellipsis, a scrolled chip row): its
  // scrollWidth beyond its clientWidth. Buttons and what they hold, tabs, widget labels, button groups
  // (the half switch, pills), multiselect chips, select values, popover and expander headers, the
  // player's controls and its no-video line.
  const selector = "button, button *, [role='tab'], [role='tab'] *, [data-testid='stWidgetLabel'] *, " +
    "[data-testid='stMultiSelectTagsContainer'], [data-testid='stButtonGroup'], [data-testid='stButtonGroup'] *, " +
    "[data-testid='stSelectbox'] [data-baseweb='select'] *, [data-testid='stPopover'] *, " +
    "[data-testid='stExpander'] summary *, [data-testid='studio-player'] .asp-novideo, " +
    "[data-testid='studio-player'] .asp-controls *";
  const cut = [];
  for (const root of document.querySelectorAll("[data-testid='stMain'], [data-testid='stSidebar']")) {
    for (const el of root.querySelectorAll(selector)) {
      if (!el.getClientRects().length || !(el.clientWidth > 0)) continue;
      if (el.scrollWidth > el.clientWidth + 1) {
        cut.push(`${(el.innerText || el.getAttribute("aria-label") || el.tagName).trim().slice(0, 40)} ` +
                 `(${el.scrollWidth} px in ${el.clientWidth})`);
      }
    }
  }
  return cut;
}"""


def box_of(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def lanes_box(page) -> dict:
    """The timeline's lanes: the first subplot's drag area (curves, if any, are rows under it)."""
    return page.evaluate(f"""() => {{
        const r = document.querySelector(`{PLAYER} .asp-plot .nsewdrag[data-subplot='xy']`).getBoundingClientRect();
        return {{x: r.x, y: r.y, width: r.width, height: r.height}};
    }}""")


def check_fits(page, width: int, height: int, name: str, video: bool = True) -> None:
    """Video (or its notice), controls and the timeline's lanes in the window without scrolling, the event list
    beside the player and starting in the window, and no control label cut."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}x{height}.png"))
    stage, lanes = box_of(page, f"{PLAYER} .asp-stage"), lanes_box(page)
    controls = box_of(page, f"{PLAYER} .asp-controls")
    assert stage["y"] >= 0 and stage["y"] + stage["height"] <= height, f"the video is not in the window: {stage}"
    if video:
        assert stage["height"] >= 150, f"the video is too small to see: {stage}"
    assert controls["y"] + controls["height"] <= height
    assert lanes["y"] >= 0 and lanes["y"] + lanes["height"] <= height, f"the timeline is not in the window: {lanes}"
    grid = box_of(page, "[data-testid='stMain'] [data-testid='stDataFrame']")
    player = box_of(page, PLAYER)
    assert grid["x"] >= player["x"] + player["width"], "the event list is not beside the player"
    assert grid["y"] < height - 100, f"the event list starts below the window: {grid}"
    cut = page.evaluate(CLIPPED_JS)
    assert not cut, f"labels cut at {width}x{height}: {cut}"
    # The first row of controls takes clicks (Streamlit's header lies above it, not over it).
    switch = page.locator("[data-testid='stMain'] [data-testid='stButtonGroup']").first.bounding_box()
    hit = page.evaluate(f"() => document.elementFromPoint({switch['x'] + 20}, {switch['y'] + switch['height'] / 2})"
                        ".closest(\"[data-testid='stButtonGroup']\") !== null")
    assert hit, "the half switch lies under Streamlit's header"


@pytest.mark.parametrize("width, height", [(1366, 768), (1920, 1080)])
def test_video_timeline_and_event_list_fit_the_window_and_no_label_is_cut(browser, server_url, width, height):
    """#14: at 1366×768 "2nd half" read "2nd ha", curve chips were cut, and the event list sat ~1,000 px under the
    player (a row click seeked a video that was off-screen); video and timeline did not fit a laptop's window."""
    with opened(browser, server_url + os.environ.get("STUDIO_BROWSER_QUERY", ""), viewport=(width, height)) as page:
        wait_until_ready(page)
        check_fits(page, width, height, "demo")


def test_two_models_without_video_fit_a_laptop_window(browser, novideo_url):
    """The same with two prediction sets on a game without video (lanes for both models, the filter's options)."""
    with opened(browser, novideo_game_url(novideo_url), viewport=(1366, 768)) as page:
        wait_drawn(page)
        check_fits(page, 1366, 768, "two-models", video=False)
        names = page.evaluate(f"() => document.querySelector(`{PLAYER} .asp-plot`).data.filter(t => t.showlegend !== "
                              "false).map(t => t.name)")
        assert names[:2] == ["modelA", "modelB"]  # one legend entry (and colour) per model
