// The timeline half of the player: Plotly.js loading and theming, the playhead, clicks that seek.
// Concatenated with player.js into one ES module by spotting/ui/player/__init__.py.

function loadPlotly(url) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__aspPlotlyPromise) {
    window.__aspPlotlyPromise = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("no window.Plotly")));
      script.onerror = () => {
        window.__aspPlotlyPromise = null;
        reject(new Error(`could not load ${url}`));
      };
      document.head.append(script);
    });
  }
  return window.__aspPlotlyPromise;
}

function renderFigure(player, figureJson, plotlyUrl) {
  if (!figureJson || figureJson === player.figureJson) return;
  player.figureJson = figureJson;
  loadPlotly(plotlyUrl || "/studio/assets/plotly.min.js").then(
    (Plotly) => {
      if (player.figureJson !== figureJson) return; // a newer figure arrived meanwhile
      const figure = JSON.parse(themeColors(figureJson, player.root));
      const layout = Object.assign({}, figure.layout || {});
      // A figure with its own height gets exactly that (the video takes the rest of height_px);
      // without one the video takes ~42 % and the plot the rest.
      const wanted = Number(layout.height) || 0;
      player.root.classList.toggle("asp-fixed-plot", wanted > 0);
      player.plotWrap.style.flexBasis = wanted > 0 ? `${wanted}px` : "";
      layout.autosize = true;
      delete layout.width;
      layout.height = player.plot.clientHeight || undefined;
      if (layout.uirevision === undefined) layout.uirevision = "asp-player"; // keep the user's zoom across updates
      const config = Object.assign({ displaylogo: false, responsive: true, doubleClick: "reset",
        modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"] }, figure.config || {});
      const first = !player.plot._fullLayout;
      return Plotly.react(player.plot, figure.data || [], layout, config).then(() => {
        player.loading.hidden = true;
        if (first) {
          player.plot.on("plotly_click", (ev) => onPlotlyClick(player, ev));
          player.plot.on("plotly_relayout", () => drawCursor(player));
          player.plot.on("plotly_afterplot", () => drawCursor(player));
        }
        drawCursor(player);
      });
    },
  ).catch((error) => {
    player.loading.hidden = false;
    player.loading.textContent = `The timeline could not be drawn (${error.message}). Start the app with "streamlit run app.py".`;
  });
}

// Figures built while Streamlit runs get its "streamlit" plotly template, whose colours are
// placeholders (#000001 …) that st.plotly_chart swaps for the theme's; do the same here.
function themeColors(json, node) {
  if (!json.includes("#0000")) return json;
  const style = getComputedStyle(node);
  const read = (name) => style.getPropertyValue(name).trim();
  const list = (name, fallback) => {
    const values = read(name).split(",").map((v) => v.trim()).filter(Boolean);
    return values.length >= 10 ? values : fallback;
  };
  const categorical = list("--st-chart-categorical-colors",
    ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a", "#6d3fc0", "#d5dae5"]);
  const sequential = list("--st-chart-sequential-colors",
    ["#e4f5ff", "#c7ebff", "#a6dcff", "#83c9ff", "#60b4ff", "#3d9df3", "#1c83e1", "#0068c9", "#0054a3", "#004280"]);
  const diverging = list("--st-chart-diverging-colors",
    ["#7d353b", "#bd4043", "#ff4b4b", "#ff8c8c", "#ffc7c7", "#a6dcff", "#60b4ff", "#1c83e1", "#0054a3", "#004280"]);
  const text = read("--st-text-color") || "#31333f";
  const background = read("--st-background-color") || "#ffffff";
  const colours = new Map();
  for (let i = 0; i < 10; i++) {
    colours.set(i + 1, categorical[i]);
    colours.set(i + 11, sequential[i]);
    colours.set(i + 21, diverging[i]);
  }
  const probe = document.createElement("canvas").getContext("2d");
  const solid = (css) => { probe.fillStyle = "#000"; probe.fillStyle = css; return probe.fillStyle; };
  const faded = (alpha) => {
    const hex = solid(text); // "#rrggbb" for an opaque colour
    if (!/^#[0-9a-f]{6}$/i.test(hex)) return `rgba(49, 51, 63, ${alpha / 100})`;
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha / 100})`;
  };
  [[32, "#29b09d"], [33, "#ff2b2b"], [34, "#0068c9"], [35, "#b2b5be"], [36, text], [37, text],
   [38, background], [39, faded(10)], [40, faded(18)]].forEach(([i, c]) => colours.set(i, c));
  return json.replace(/#0000([0-4][0-9])/g, (match, digits) => {
    const colour = colours.get(Number(digits));
    return colour ? solid(colour) : match;
  });
}

// ---------------------------------------------------------------- drawing

function formatTime(t, tenths) {
  if (!Number.isFinite(t)) t = 0;
  const m = Math.floor(t / 60);
  const s = t - m * 60;
  const ss = tenths ? s.toFixed(1).padStart(4, "0") : String(Math.floor(s)).padStart(2, "0");
  return `${m}:${ss}`;
}

function drawCursor(player, t = currentTime(player)) {
  player.lastDrawn = t;
  player.root.dataset.currentTime = t.toFixed(3);
  player.time.textContent = `${formatTime(t, true)} / ${formatTime(totalTime(player), false)}`;
  const fl = player.plot._fullLayout;
  const xa = fl && fl.xaxis;
  if (!xa || !xa.range) {
    player.cursor.hidden = true;
    return;
  }
  const [lo, hi] = xa.range.map(Number);
  if (t < Math.min(lo, hi) || t > Math.max(lo, hi)) {
    player.cursor.hidden = true;
    return;
  }
  const x = xa._offset + xa.l2p(t);
  player.cursor.hidden = false;
  player.cursor.style.transform = `translateX(${x.toFixed(1)}px)`;
  player.cursor.style.top = `${fl._size.t}px`;
  player.cursor.style.height = `${fl._size.h}px`;
  player.cursor.dataset.x = x.toFixed(1);
  player.cursorLabel.textContent = formatTime(t, false);
  updateEventInfo(player, t);
}

// Zoomed in and playing past the visible window: turn the page, like an audio editor does.
function followPlayhead(player, t) {
  const xa = player.plot._fullLayout && player.plot._fullLayout.xaxis;
  if (!xa || !xa.range || player.turningPage || !window.Plotly) return;
  const [lo, hi] = xa.range.map(Number);
  const width = hi - lo;
  if (t <= hi && t >= lo) return;
  if (width >= 0.98 * (totalTime(player) || Infinity)) return; // not zoomed: nothing to follow
  const start = clamp(t - 0.05 * width, 0, Math.max(0, (totalTime(player) || t + width) - width));
  player.turningPage = true;
  window.Plotly.relayout(player.plot, { "xaxis.range": [start, start + width] })
    .finally(() => { player.turningPage = false; });
}

function updateEventInfo(player, t) {
  const events = player.events;
  if (!events.length) {
    player.eventInfo.textContent = "no events";
    return;
  }
  let passed = 0;
  while (passed < events.length && events[passed] <= t + 0.25) passed++;
  player.eventInfo.textContent = `event ${passed} / ${events.length}`;
}

function refreshButtons(player) {
  const paused = isPaused(player);
  const icon = paused ? ICONS.play : ICONS.pause;
  if (player.play.dataset.icon !== icon) {
    player.play.innerHTML = icon;
    player.play.dataset.icon = icon;
  }
  player.play.classList.toggle("asp-playing", !paused);
  player.root.classList.toggle("asp-paused", paused);
}

function toggleHelp(player, show) {
  const visible = show === undefined ? player.help.hidden : show;
  player.help.hidden = !visible;
}

// ---------------------------------------------------------------- input

function plotArea(player, event) {
  const fl = player.plot._fullLayout;
  const xa = fl && fl.xaxis;
  if (!xa) return null;
  const box = player.plot.getBoundingClientRect();
  const px = event.clientX - box.left;
  const py = event.clientY - box.top;
  if (px < xa._offset || px > xa._offset + xa._length) return null;
  if (py < fl._size.t || py > fl._size.t + fl._size.h) return null;
  return { px, py, t: xa.p2l(px - xa._offset), xa };
}

function onPointerDown(player, event) {
  if (event.button !== 0) return;
  const area = plotArea(player, event);
  player.pendingClick = area ? { x: event.clientX, y: event.clientY, area } : null;
}

function onPointerUp(player, event) {
  const down = player.pendingClick;
  player.pendingClick = null;
  if (!down || Math.hypot(event.clientX - down.x, event.clientY - down.y) > 4) return; // a drag: zoom/pan
  clearTimeout(player.clickTimer);
  player.plotlyClicked = false;
  player.clickTimer = setTimeout(() => {
    if (player.plotlyClicked) return;
    seekTo(player, snapToEvent(player, down.area));
  }, 60);
}

function snapToEvent(player, area) {
  const { t, xa, px } = area;
  let best = t;
  let bestPx = SNAP_PX;
  for (const e of player.events) {
    const d = Math.abs(xa._offset + xa.l2p(e) - px);
    if (d < bestPx) { bestPx = d; best = e; }
  }
  return best;
}

function onPlotlyClick(player, event) {
  const points = (event && event.points) || [];
  if (!points.length) return;
  // Prefer an event marker over a curve sample at the same place.
  const isMarker = (p) => {
    const mode = (p.data && p.data.mode) || "";
    return mode.includes("markers") && !mode.includes("lines");
  };
  const point = points.find(isMarker) || points[0];
  const x = Number(point.x);
  if (!Number.isFinite(x)) return;
  player.plotlyClicked = true;
  clearTimeout(player.clickTimer);
  seekTo(player, x);
}

// Keys that belong to whatever has the focus: text fields, sliders, tables, tabs, menus...
