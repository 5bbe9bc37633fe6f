// Video + timeline player for Action Spotting Studio: the entry module of an st.components.v2
// component (spotting/ui/player/bundle.py makes the one module Streamlit takes from this file and
// the modules it imports).
//
// Streamlit calls the default export again, with the SAME parentElement, whenever `data` changes
// (a threshold moved → a new figure). So the DOM, the <video> and the listeners are built once and
// kept on the root element; later calls only update the figure in place and set video.src when the
// URL really changes. Rebuilding would restart playback at 0.
//
// One clock: Python owns the time of a game's half (`start_time_s`, `clock_id`); the player starts
// there whenever `clock_id` changes (another game or half) and reports every move back with that id,
// so a report meant for the previous game is never taken for this one.

import { clockText, eventCounterText, nextEvent, previousEvent, reportedTime, seekTarget } from "./timing.js";
import { SHORTCUTS, SPEEDS, focusKind, focusTracker, focusedElement, keyOwner, shortcutAction, stepSpeed } from "./keys.js";
import { clickToSeek, drawCursor, followPlayhead, renderFigure } from "./timeline.js";
import { fitHeight, purge } from "./plotly_adapter.js";
import { shouldResize, stageHeight } from "./layout.js";

const ROOT_CLASS = "asp-root";
const DEFAULT_PLOTLY_URL = "/studio/assets/plotly.min.js";
const NO_VIDEO = "No video for this half: click the timeline, or press n / p, to move the playhead.";
const REPORT_INTERVAL_MS = 1000; // time flows back to Python at most once a second while playing
const FIT_EVERY_FRAMES = 30; // the video's size is checked twice a second (content above may have moved)
// Icons as inline SVG: the page's fonts need not have media-control glyphs.
const svg = (path) => `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="${path}"/></svg>`;
const ICONS = {
  play: svg("M8 5v14l11-7z"),
  pause: svg("M6 5h4v14H6zm8 0h4v14h-4z"),
  prev: svg("M6 6h2v12H6zm3.5 6 8.5 6V6z"),
  next: svg("M16 6h2v12h-2zM6 18l8.5-6L6 6z"),
};

// Seek requests already carried out, per player key: a remount (page switch) must not repeat one.
const seenSeeks = new Map();
// With several players on a page, the one the user touched last takes the keys.
let activePlayer = null;

export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(`.${ROOT_CLASS}`);
  if (!root) root = buildPlayer(parentElement);
  const player = root.__player;
  player.component = component; // listeners always talk to the latest Streamlit callbacks
  player.gen += 1;
  update(player, data || {});
  const gen = player.gen;
  return () => {
    // Streamlit may call this for a superseded call while the DOM lives on; tear down only when
    // the element really left the page.
    setTimeout(() => {
      if (player.gen === gen && !root.isConnected) teardown(player);
    }, 200);
  };
}

// ---------------------------------------------------------------- building (once per mount)

function el(tag, cls, attrs = {}, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function buildPlayer(parent) {
  const root = el("div", ROOT_CLASS, { "data-testid": "studio-player", tabindex: "-1" });
  const stage = el("div", "asp-stage");
  const video = el("video", "asp-video", { preload: "auto", playsinline: "" });
  const novideo = el("div", "asp-novideo", { role: "status" });
  const help = el("div", "asp-help", { hidden: "" });
  help.append(el("div", "asp-help-title", {}, "Keyboard shortcuts"));
  const table = el("dl", "asp-help-list");
  for (const [keys, what] of SHORTCUTS) table.append(el("dt", "", {}, keys), el("dd", "", {}, what));
  help.append(table, el("div", "asp-help-foot", {}, "Press ? or Esc to close"));
  stage.append(video, novideo, help);

  const controls = el("div", "asp-controls");
  const button = (cls, label, title, icon) => {
    const b = el("button", `asp-btn ${cls}`, { type: "button", title, "aria-label": title }, icon ? undefined : label);
    if (icon) b.innerHTML = icon;
    return b;
  };
  const prev = button("asp-prev", "", "Previous event (p)", ICONS.prev);
  const back = button("asp-back", "−5s", "Back 5 s (←)");
  const play = button("asp-play", "", "Play / pause (space)", ICONS.play);
  const fwd = button("asp-fwd", "+5s", "Forward 5 s (→)");
  const next = button("asp-next", "", "Next event (n)", ICONS.next);
  const time = el("span", "asp-time", {}, "00:00.0 / 00:00");
  const eventInfo = el("span", "asp-event-info");
  const spacer = el("span", "asp-spacer");
  const speed = el("select", "asp-speed", { title: "Playback speed", "aria-label": "Playback speed" });
  for (const s of SPEEDS) {
    const option = el("option", "", { value: String(s) }, `${s}×`);
    if (s === 1) option.selected = true;
    speed.append(option);
  }
  const helpButton = button("asp-help-btn", "?", "Keyboard shortcuts (?)");
  controls.append(prev, back, play, fwd, next, time, eventInfo, spacer, speed, helpButton);

  const notice = el("div", "asp-notice", { hidden: "" });
  const plotWrap = el("div", "asp-plot-wrap");
  const plot = el("div", "asp-plot");
  const cursor = el("div", "asp-cursor", { hidden: "" });
  const cursorLabel = el("div", "asp-cursor-label");
  cursor.append(cursorLabel);
  const loading = el("div", "asp-loading", {}, "Loading timeline…");
  plotWrap.append(plot, cursor, loading);
  root.append(stage, controls, notice, plotWrap);
  parent.append(root);

  const player = {
    root, stage, video, novideo, help, play, time, eventInfo, speed, notice, plotWrap, plot, cursor, cursorLabel, loading,
    component: null, gen: 0, data: {}, key: "", clockId: undefined, src: null, hasVideo: false, figureJson: null,
    events: [], duration: 0, rafId: 0, lastReport: { t: -1, paused: null, at: 0 }, lastDrawn: null,
    manualTime: 0, // the clock without a video: moved by clicks, keys and seek requests
    offset: null, // the half starts this far into the video (a window of a longer video); null: the video is the half
    startAt: 0, // where the video goes once its metadata is loaded
    swallowKeyUp: null, listeners: [], stagePx: undefined, frames: 0,
  };
  root.__player = player;

  const on = (target, type, fn, capture) => {
    target.addEventListener(type, fn, capture);
    player.listeners.push([target, type, fn, capture]);
  };
  on(play, "click", () => togglePlay(player));
  on(back, "click", () => seekBy(player, -5));
  on(fwd, "click", () => seekBy(player, 5));
  on(next, "click", () => jumpEvent(player, +1));
  on(prev, "click", () => jumpEvent(player, -1));
  on(helpButton, "click", () => toggleHelp(player));
  on(help, "click", () => toggleHelp(player, false));
  on(speed, "change", () => setRate(player, Number(speed.value)));
  on(video, "click", () => togglePlay(player));
  on(root, "pointerdown", (e) => {
    activePlayer = player;
    // Plotly cancels mousedown, so the focus would stay on a widget reached with Tab (which keeps
    // its keys): pressing the player's surface gives the player the keyboard.
    if (!e.target.closest("select, button")) root.focus({ preventScroll: true });
  }, true);
  for (const type of ["play", "pause", "ended"]) on(video, type, () => { refreshButtons(player); report(player, true); });
  on(video, "seeked", () => { drawClock(player); report(player, true); });
  on(video, "loadedmetadata", () => onMetadata(player));
  on(window, "resize", () => fitStage(player));
  on(video, "error", () => {
    if (!player.src) return; // removing the source on teardown also fires "error"
    // Fall back to the clock without video so the timeline keeps working.
    const t = currentTime(player);
    showVideo(player, false, `The video could not be played (${videoError(video)}): the timeline still works.`);
    player.manualTime = t;
    refreshButtons(player);
    drawClock(player);
  });
  const tracker = focusTracker();
  for (const [type, fn] of tracker.listeners) on(window, type, fn, true);
  // Capture phase on window: the player sees a shortcut before the focused widget acts on it.
  on(window, "keydown", (e) => onKey(player, tracker, e), true);
  on(window, "keyup", (e) => {
    if (e.key !== player.swallowKeyUp) return;
    player.swallowKeyUp = null;
    e.preventDefault(); // a button activates on Space's keyup: it must not, the player took the key
    e.stopPropagation();
  }, true);
  for (const [target, type, fn, capture] of clickToSeek(player, () => player.events, (t) => seekTo(player, t))) {
    on(target, type, fn, capture);
  }
  const resize = new ResizeObserver(() => { fitStage(player); fitHeight(plot).then(() => drawClock(player)); });
  resize.observe(plotWrap);
  player.resizeObserver = resize;
  player.rafId = requestAnimationFrame(() => tick(player));
  return root;
}

function teardown(player) {
  cancelAnimationFrame(player.rafId);
  player.resizeObserver?.disconnect();
  for (const [target, type, fn, capture] of player.listeners) target.removeEventListener(type, fn, capture);
  if (activePlayer === player) activePlayer = null;
  player.video.pause();
  player.video.removeAttribute("src"); // frees the HTTP connection
  player.video.load();
  purge(player.plot);
}

// ---------------------------------------------------------------- updating (every call)

function update(player, data) {
  player.data = data;
  player.key = String(data.key || "");
  player.duration = Number(data.half_duration_s) || 0;
  player.root.dataset.halfDuration = String(player.duration);
  player.events = (data.event_times_s || []).map(Number).filter(Number.isFinite).sort((a, b) => a - b);
  const offset = Number(data.video_offset_s);
  player.offset = data.video_offset_s == null || !Number.isFinite(offset) ? null : Math.max(0, offset);

  const url = data.video_url || null;
  const clockId = String(data.clock_id ?? "");
  if (clockId !== player.clockId) {
    // The first call, or another game or half: start where Python says, whatever played before.
    player.clockId = clockId;
    player.lastReport = { t: -1, paused: null, at: 0 };
    setSource(player, url, Number(data.start_time_s) || 0);
  } else if (url !== player.src) {
    setSource(player, url, currentTime(player)); // same half, another file: keep the time
  }
  player.novideo.textContent = data.notice || NO_VIDEO;
  // Without video the stage itself carries the notice; with video it sits above the timeline.
  player.notice.hidden = !(url && data.notice);
  player.notice.textContent = url && data.notice ? data.notice : "";

  const seek = data.seek_request;
  if (Array.isArray(seek) && seek.length === 2 && seenSeeks.get(player.key) !== seek[0]) {
    seenSeeks.set(player.key, seek[0]);
    seekTo(player, Number(seek[1]));
  }
  renderFigure(player, data.figure_json, data.plotly_url || DEFAULT_PLOTLY_URL, () => drawClock(player));
  refreshButtons(player);
  fitStage(player);
  drawClock(player);
}

// The video's height: the window's room under the player once controls and timeline have theirs.
function fitStage(player) {
  if (!player.root.isConnected) return;
  if (!player.hasVideo) {
    player.stagePx = undefined; // the one-line notice (CSS) takes the video's place
    return;
  }
  let top = player.root.getBoundingClientRect().top + window.scrollY;
  for (let node = player.root.parentElement; node; node = node.parentElement) top += node.scrollTop || 0;
  const current = player.stage.offsetHeight;
  const next = stageHeight({
    viewportPx: window.innerHeight, topPx: top, belowPx: player.root.offsetHeight - current,
    widthPx: player.stage.clientWidth, maxPx: Number(player.data.video_max_px) || undefined,
  });
  if (!shouldResize(player.stagePx, next)) return;
  player.stagePx = next;
  player.root.style.setProperty("--asp-stage", `${next}px`);
}

function setSource(player, url, startTime) {
  player.src = url;
  player.startAt = startTime;
  player.manualTime = startTime;
  showVideo(player, Boolean(url));
  if (url) {
    player.video.src = url;
    player.video.playbackRate = Number(player.speed.value);
  } else {
    player.video.pause();
    player.video.removeAttribute("src");
    player.video.load();
  }
}

function showVideo(player, hasVideo, notice) {
  player.hasVideo = hasVideo;
  player.root.classList.toggle("asp-no-video", !hasVideo);
  if (notice) player.novideo.textContent = notice;
  fitStage(player);
}

function onMetadata(player) {
  const t = seekTarget(player.startAt, totalTime(player)) || 0;
  if (t > 0 || player.offset) player.video.currentTime = t + (player.offset || 0);
  player.video.playbackRate = Number(player.speed.value);
  refreshButtons(player);
  drawClock(player);
}

// ---------------------------------------------------------------- the clock

function currentTime(player) {
  if (!player.hasVideo) return player.manualTime;
  // Before its metadata the video reports 0: the clock is where it will start.
  if (player.video.readyState < 1) return player.startAt;
  return (player.video.currentTime || 0) - (player.offset || 0); // the half's clock
}

function isPaused(player) {
  return !player.hasVideo || player.video.paused;
}

function totalTime(player) {
  const d = player.video.duration;
  if (!(player.hasVideo && Number.isFinite(d) && d > 0)) return player.duration;
  // A window of a longer video: the half's length, or less where the video ends first.
  return player.offset === null ? d : Math.min(d - player.offset, player.duration || Infinity);
}

function seekTo(player, seconds) {
  const t = seekTarget(seconds, totalTime(player));
  if (t === null) return;
  if (player.hasVideo && player.video.readyState >= 1) {
    player.video.currentTime = t + (player.offset || 0); // "seeked" reports it
  } else {
    if (player.hasVideo) player.startAt = t; // metadata not loaded yet: applied when it is
    else player.manualTime = t;
    report(player, true);
  }
  drawClock(player, t);
}

function seekBy(player, dt) {
  seekTo(player, currentTime(player) + dt);
}

function togglePlay(player) {
  if (!player.hasVideo) return; // nothing to play: the button is disabled too
  if (player.video.paused) player.video.play().catch(() => {});
  else player.video.pause();
}

function setRate(player, rate) {
  player.speed.value = String(rate);
  player.video.playbackRate = rate;
}

function jumpEvent(player, direction) {
  const t = currentTime(player);
  const target = direction > 0 ? nextEvent(player.events, t) : previousEvent(player.events, t);
  if (target !== null) seekTo(player, target);
}

// Time back to Python: on pause / seek / end at once, while playing at most once a second.
function report(player, force) {
  const setStateValue = player.component?.setStateValue;
  if (!setStateValue) return;
  const t = reportedTime(currentTime(player));
  const paused = isPaused(player);
  const last = player.lastReport;
  const now = performance.now();
  if (!force && now - last.at < REPORT_INTERVAL_MS) return;
  if (last.t === t && last.paused === paused) return;
  player.lastReport = { t, paused, at: now };
  setStateValue("playback", { current_time_s: t, paused, clock_id: player.clockId });
}

function tick(player) {
  player.rafId = requestAnimationFrame(() => tick(player));
  player.frames += 1;
  if (player.frames % FIT_EVERY_FRAMES === 0) fitStage(player);
  const t = currentTime(player);
  if (t !== player.lastDrawn) drawClock(player, t);
  if (!isPaused(player)) {
    if (player.offset !== null && t >= totalTime(player)) player.video.pause(); // the window's end: the half's
    followPlayhead(player, t, totalTime(player));
    report(player, false);
  }
}

// ---------------------------------------------------------------- drawing

function drawClock(player, t = currentTime(player)) {
  player.lastDrawn = t;
  player.root.dataset.currentTime = reportedTime(t).toFixed(3);
  player.time.textContent = `${clockText(t, { tenths: true })} / ${clockText(totalTime(player))}`;
  player.eventInfo.textContent = eventCounterText(player.events, t);
  drawCursor(player, t);
}

function refreshButtons(player) {
  const paused = isPaused(player);
  const icon = paused ? ICONS.play : ICONS.pause;
  if (player.play.dataset.icon !== icon) {
    player.play.innerHTML = icon;
    player.play.dataset.icon = icon;
  }
  player.play.disabled = !player.hasVideo;
  player.play.title = player.hasVideo ? "Play / pause (space)" : "No video to play";
  player.speed.disabled = !player.hasVideo;
  player.play.classList.toggle("asp-playing", !paused);
  player.root.classList.toggle("asp-paused", paused);
}

function toggleHelp(player, show) {
  const visible = show === undefined ? player.help.hidden : show;
  player.help.hidden = !visible;
}

// ---------------------------------------------------------------- keyboard

function onKey(player, tracker, event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented || event.isComposing) return;
  if (!player.root.isConnected) return;
  if (activePlayer && activePlayer !== player && activePlayer.root.isConnected) return;
  const action = shortcutAction(event.key, event.shiftKey);
  if (!action || (action[0] === "closeHelp" && player.help.hidden)) return;
  const target = focusedElement(event);
  if (keyOwner(event.key, focusKind(target, player.root), tracker.clicked(target)) !== "player") return;
  event.preventDefault();
  event.stopPropagation();
  player.swallowKeyUp = event.key;
  const [name, argument] = action;
  if (name === "togglePlay") togglePlay(player);
  else if (name === "seekBy") seekBy(player, argument);
  else if (name === "jumpEvent") jumpEvent(player, argument);
  else if (name === "stepRate") { if (player.hasVideo) setRate(player, stepSpeed(Number(player.speed.value), argument)); }
  else if (name === "toggleHelp") toggleHelp(player);
  else if (name === "closeHelp") toggleHelp(player, false);
}

function videoError(video) {
  const codes = { 1: "aborted", 2: "network error", 3: "cannot decode", 4: "format not supported" };
  return (video.error && codes[video.error.code]) || "unknown error";
}
