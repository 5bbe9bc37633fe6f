// Video + timeline player for Action Spotting Studio (a Streamlit components.v2 module).
//
// Streamlit calls the default export again, with the SAME parentElement, whenever `data` changes
// (a threshold moved → a new figure). So the DOM, the <video> and the listeners are built once
// and kept on the root element; later calls only update the figure in place (Plotly.react) and
// set video.src when the URL really changes. Rebuilding would restart playback at 0.

const ROOT_CLASS = "asp-root";
// Icons as inline SVG: the page's fonts need not have media-control glyphs.
const svg = (path) => `<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="${path}"/></svg>`;
const ICONS = {
  play: svg("M8 5v14l11-7z"),
  pause: svg("M6 5h4v14H6zm8 0h4v14h-4z"),
  prev: svg("M6 6h2v12H6zm3.5 6 8.5 6V6z"),
  next: svg("M16 6h2v12h-2zM6 18l8.5-6L6 6z"),
};
const REPORT_INTERVAL_MS = 1000; // time flows back to Python at most once a second while playing
const SNAP_PX = 6; // a click this close to an event marker snaps to the event
const SPEEDS = [0.25, 0.5, 1, 1.5, 2, 4];
const SHORTCUTS = [
  ["Space", "play / pause"],
  ["← / →", "back / forward 5 s"],
  ["Shift + ← / →", "back / forward 30 s"],
  [", / .", "step 0.5 s (one feature frame)"],
  ["n / p", "next / previous event"],
  ["[ / ]", "slower / faster"],
  ["Click the timeline", "seek there (markers snap to their event)"],
  ["?", "show / hide this help"],
];
// Where a player resumes after a remount (same tab): key + video → seconds.
const resumeTimes = (window.__aspResumeTimes = window.__aspResumeTimes || new Map());
const seenSeeks = (window.__aspSeenSeeks = window.__aspSeenSeeks || new Map());

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
  video.muted = false;
  const novideo = el("div", "asp-novideo");
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
  const time = el("span", "asp-time", {}, "0:00.0 / 0:00");
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
    component: null, gen: 0, data: {}, src: null, hasVideo: false, figureJson: null,
    events: [], duration: 0, key: "", rafId: 0, lastReport: { t: -1, paused: null, at: 0 },
    // Clock used when there is no video: time set by clicks and keys, optional "virtual" playback.
    virtual: { t: 0, playing: false, since: 0 }, pendingClick: null, listeners: [],
  };
  root.__player = player;

  const on = (target, type, fn, opts) => {
    target.addEventListener(type, fn, opts);
    player.listeners.push([target, type, fn, opts]);
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
    window.__aspActivePlayer = player;
    // Plotly cancels mousedown, so focus would stay on the last Streamlit widget (a checkbox takes
    // Space, a slider the arrows): clicking the player gives it the keyboard.
    if (!e.target.closest("select, button")) root.focus({ preventScroll: true });
  }, true);
  for (const type of ["play", "pause", "ended"]) on(video, type, () => { refreshButtons(player); report(player, true); });
  on(video, "seeked", () => { drawCursor(player); report(player, true); });
  on(video, "loadedmetadata", () => onMetadata(player));
  on(video, "error", () => {
    if (!player.src) return; // removing the source on teardown also fires "error"
    // Fall back to the click-driven clock so the timeline keeps working.
    const t = player.startAt || 0;
    player.hasVideo = false;
    player.virtual = { t, playing: false, since: 0 };
    player.root.classList.add("asp-no-video");
    player.novideo.textContent = `The video could not be played (${videoError(video)}): the timeline still works.`;
    refreshButtons(player);
    drawCursor(player);
  });
  on(document, "keydown", (e) => onKey(player, e));
  // Clicks anywhere in the plot area seek; plotly's own click (on a marker or curve) gives the
  // exact x, so a bare pointer-up waits a moment for it before using the pixel position.
  on(plot, "pointerdown", (e) => onPointerDown(player, e), true);
  on(window, "pointerup", (e) => onPointerUp(player, e), true);
  const resize = new ResizeObserver(() => {
    const gd = player.plot;
    if (!window.Plotly || !gd._fullLayout) return;
    const height = gd.clientHeight; // layout.height is explicit, so autosize alone would keep the old one
    const fit = height && Math.abs(gd._fullLayout.height - height) > 1
      ? window.Plotly.relayout(gd, { height }) : Promise.resolve();
    fit.then(() => window.Plotly.Plots.resize(gd)).then(() => drawCursor(player));
  });
  resize.observe(plotWrap);
  player.resizeObserver = resize;
  player.rafId = requestAnimationFrame(() => tick(player));
  return root;
}

function teardown(player) {
  cancelAnimationFrame(player.rafId);
  player.resizeObserver?.disconnect();
  for (const [target, type, fn, opts] of player.listeners) target.removeEventListener(type, fn, opts);
  rememberTime(player);
  player.video.pause();
  player.video.removeAttribute("src"); // frees the HTTP connection
  player.video.load();
  if (window.Plotly) window.Plotly.purge(player.plot);
}

// ---------------------------------------------------------------- updating (every call)

function update(player, data) {
  player.data = data;
  player.key = String(data.key || "");
  player.duration = Number(data.half_duration_s) || 0;
  player.root.dataset.halfDuration = String(player.duration);
  player.events = (data.event_times_s || []).map(Number).filter(Number.isFinite).sort((a, b) => a - b);
  const height = Math.max(240, Number(data.height_px) || 720);
  player.root.style.setProperty("--asp-height", `${height}px`);

  const url = data.video_url || null;
  if (url !== player.src) setSource(player, url, Number(data.start_time_s) || 0);
  // Without video the stage itself carries the notice; with video it sits above the timeline.
  player.novideo.textContent = data.notice || "No video for this half: click the timeline to move the cursor.";
  showNotice(player, url ? data.notice || null : null);

  const seek = data.seek_request;
  if (Array.isArray(seek) && seek.length === 2) {
    const id = `${player.key}`;
    if (seenSeeks.get(id) !== seek[0]) {
      seenSeeks.set(id, seek[0]);
      seekTo(player, Number(seek[1]));
    }
  }
  renderFigure(player, data.figure_json, data.plotly_url);
  refreshButtons(player);
}

function setSource(player, url, startTime) {
  rememberTime(player);
  player.src = url;
  player.hasVideo = Boolean(url);
  player.root.classList.toggle("asp-no-video", !url);
  const resume = resumeTimes.get(`${player.key}|${url}`);
  player.startAt = resume !== undefined ? resume : startTime;
  if (url) {
    player.video.src = url;
    player.video.playbackRate = Number(player.speed.value);
  } else {
    player.video.removeAttribute("src");
    player.video.load();
    player.virtual = { t: player.startAt, playing: false, since: 0 };
  }
}

function onMetadata(player) {
  const t = clamp(player.startAt || 0, 0, player.video.duration || Infinity);
  if (t > 0) player.video.currentTime = t;
  player.video.playbackRate = Number(player.speed.value);
  refreshButtons(player);
  drawCursor(player);
}

function showNotice(player, text) {
  player.notice.hidden = !text;
  player.notice.textContent = text || "";
}

// ---------------------------------------------------------------- the clock

function currentTime(player) {
  if (player.hasVideo) return player.video.currentTime || 0;
  const v = player.virtual;
  if (!v.playing) return v.t;
  const t = v.t + ((performance.now() - v.since) / 1000) * Number(player.speed.value);
  if (t >= player.duration) {
    player.virtual = { t: player.duration, playing: false, since: 0 };
    refreshButtons(player);
    report(player, true);
    return player.duration;
  }
  return t;
}

function isPaused(player) {
  return player.hasVideo ? player.video.paused : !player.virtual.playing;
}

function totalTime(player) {
  const d = player.video.duration;
  return player.hasVideo && Number.isFinite(d) && d > 0 ? d : player.duration;
}

function seekTo(player, t) {
  if (!Number.isFinite(t)) return;
  t = clamp(t, 0, totalTime(player) || Infinity);
  if (player.hasVideo) {
    if (player.video.readyState >= 1) player.video.currentTime = t;
    else player.startAt = t; // metadata not loaded yet: apply when it is
  } else {
    player.virtual = { t, playing: player.virtual.playing, since: performance.now() };
    report(player, true);
  }
  drawCursor(player, t);
}

function seekBy(player, dt) {
  seekTo(player, currentTime(player) + dt);
}

function togglePlay(player) {
  if (player.hasVideo) {
    if (player.video.paused) player.video.play().catch(() => {});
    else player.video.pause();
  } else {
    const t = currentTime(player);
    const playing = !player.virtual.playing && t < player.duration;
    player.virtual = { t, playing, since: performance.now() };
    refreshButtons(player);
    report(player, true);
  }
}

function setRate(player, rate) {
  if (!player.hasVideo) player.virtual = { t: currentTime(player), playing: player.virtual.playing, since: performance.now() };
  player.speed.value = String(rate);
  player.video.playbackRate = rate;
}

function jumpEvent(player, direction) {
  const t = currentTime(player);
  const events = player.events;
  let target;
  if (direction > 0) target = events.find((e) => e > t + 0.25);
  else for (let i = events.length - 1; i >= 0; i--) if (events[i] < t - 0.75) { target = events[i]; break; }
  if (target !== undefined) seekTo(player, target);
}

function rememberTime(player) {
  resumeTimes.set(`${player.key}|${player.src}`, currentTime(player));
}

// Time back to Python: on pause / seek / end at once, while playing at most once a second.
function report(player, force) {
  const setStateValue = player.component?.setStateValue;
  if (!setStateValue) return;
  const t = Math.round(currentTime(player) * 1000) / 1000;
  const paused = isPaused(player);
  const last = player.lastReport;
  const now = performance.now();
  if (!force && now - last.at < REPORT_INTERVAL_MS) return;
  if (last.t === t && last.paused === paused) return;
  player.lastReport = { t, paused, at: now };
  rememberTime(player);
  setStateValue("playback", { current_time_s: t, paused });
}

function tick(player) {
  player.rafId = requestAnimationFrame(() => tick(player));
  const t = currentTime(player);
  if (t !== player.lastDrawn) drawCursor(player, t);
  if (!isPaused(player)) {
    followPlayhead(player, t);
    report(player, false);
  }
}

// ---------------------------------------------------------------- keyboard

const OWN_KEYS = "input, textarea, select, [contenteditable=''], [contenteditable='true'], [role='slider'], " +
  "[role='combobox'], [role='listbox'], [role='spinbutton'], [role='grid'], [role='gridcell'], [role='tablist'], " +
  "[role='tab'], [role='menu'], [role='radiogroup'], [role='textbox']";

function keyBelongsElsewhere(event) {
  const target = event.composedPath ? event.composedPath()[0] : event.target;
  if (!target || !target.closest) return false;
  if (target.closest("select")) return true; // the speed menu keeps its arrows
  if (target.closest(`.${ROOT_CLASS}`)) return false;
  if (target.closest(OWN_KEYS)) return true;
  // A focused button elsewhere on the page keeps Space (and Enter); the other shortcuts still work.
  return (event.key === " " || event.key === "Enter") && Boolean(target.closest("button, [role='button']"));
}

function onKey(player, event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (!player.root.isConnected || keyBelongsElsewhere(event)) return;
  // With several players on a page, the one the user touched last takes the keys.
  if (window.__aspActivePlayer && window.__aspActivePlayer !== player && window.__aspActivePlayer.root.isConnected) return;
  const actions = {
    " ": () => togglePlay(player),
    ArrowLeft: () => seekBy(player, event.shiftKey ? -30 : -5),
    ArrowRight: () => seekBy(player, event.shiftKey ? 30 : 5),
    ",": () => seekBy(player, -0.5),
    ".": () => seekBy(player, 0.5),
    n: () => jumpEvent(player, +1),
    N: () => jumpEvent(player, +1),
    p: () => jumpEvent(player, -1),
    P: () => jumpEvent(player, -1),
    "[": () => stepRate(player, -1),
    "]": () => stepRate(player, +1),
    "?": () => toggleHelp(player),
    Escape: () => toggleHelp(player, false),
  };
  const action = actions[event.key];
  if (!action) return;
  if (event.key === "Escape" && player.help.hidden) return;
  event.preventDefault();
  event.stopPropagation();
  action();
}

function stepRate(player, direction) {
  const i = SPEEDS.indexOf(Number(player.speed.value));
  const next = SPEEDS[clamp((i < 0 ? 2 : i) + direction, 0, SPEEDS.length - 1)];
  setRate(player, next);
}

function videoError(video) {
  const codes = { 1: "aborted", 2: "network error", 3: "cannot decode", 4: "format not supported" };
  return (video.error && codes[video.error.code]) || "unknown error";
}

function clamp(x, lo, hi) {
  return Math.min(Math.max(x, lo), hi);
}
