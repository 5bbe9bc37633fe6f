// The timeline half of the player: the plotly figure (drawn, themed, kept in place across reruns),
// the playhead drawn over it, and clicks that seek. It knows nothing of the video: the player hands
// it times and a `seek(seconds)` to call.

import { clockText, pageTurn, snapToEvent } from "./timing.js";
import { draw, loadPlotly, setXRange, xAxisGeometry } from "./plotly_adapter.js";

const SNAP_PX = 6; // a click this close to an event marker snaps to the event
const DRAG_PX = 4; // a pointer that moved further between press and release dragged (zoom / pan)

// Draws `figureJson` into `view.plot` (once per new figure); `onDrawn()` runs after every draw and
// relayout (zoom, pan, resize), so the playhead can follow.
export function renderFigure(view, figureJson, plotlyUrl, onDrawn) {
  if (!figureJson || figureJson === view.figureJson) return;
  view.figureJson = figureJson;
  loadPlotly(plotlyUrl).then(() => {
    if (view.figureJson !== figureJson) return undefined; // a newer figure arrived meanwhile
    const figure = JSON.parse(themeColors(figureJson, view.root));
    const layout = Object.assign({}, figure.layout || {});
    // The plot gets the figure's own height (300 px without one); the video is sized to the window
    // around it (player.js, layout.js).
    const wanted = Number(layout.height) || 0;
    view.root.style.setProperty("--asp-plot", wanted > 0 ? `${wanted}px` : "300px");
    layout.autosize = true;
    delete layout.width;
    layout.height = view.plot.clientHeight || undefined;
    if (layout.uirevision === undefined) layout.uirevision = "asp-player"; // keep the user's zoom across updates
    const config = Object.assign({ displaylogo: false, responsive: true, doubleClick: "reset",
      modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d"] }, figure.config || {});
    return draw(view.plot, figure.data || [], layout, config, {
      plotly_click: (event) => pointClick(event, (seconds) => view.onPointClick?.(seconds)),
      plotly_relayout: onDrawn,
      plotly_afterplot: onDrawn,
    }).then(() => {
      view.loading.hidden = true;
      onDrawn();
    });
  }).catch((error) => {
    view.loading.hidden = false;
    view.loading.textContent = `The timeline could not be drawn (${error.message}). Start the app with "streamlit run app.py".`;
  });
}

// The playhead at `t` seconds, hidden when `t` is outside the visible range or nothing is drawn.
export function drawCursor(view, t) {
  const axis = xAxisGeometry(view.plot);
  const [lo, hi] = axis ? axis.range : [0, 0];
  if (!axis || t < Math.min(lo, hi) || t > Math.max(lo, hi)) {
    view.cursor.hidden = true;
    return;
  }
  const x = axis.toPixel(t);
  view.cursor.hidden = false;
  view.cursor.style.transform = `translateX(${x.toFixed(1)}px)`;
  view.cursor.style.top = `${axis.top}px`;
  view.cursor.style.height = `${axis.height}px`;
  view.cursor.dataset.x = x.toFixed(1);
  view.cursorLabel.textContent = clockText(t);
}

// Zoomed in and playing past the visible window: turn the page.
export function followPlayhead(view, t, total) {
  const axis = xAxisGeometry(view.plot);
  if (!axis || view.turningPage) return;
  const range = pageTurn(t, axis.range, total);
  if (!range) return;
  view.turningPage = true;
  setXRange(view.plot, range).finally(() => { view.turningPage = false; });
}

// Click-to-seek anywhere in the plot area. Plotly's own click (on a marker or a curve) gives the
// exact x, so a bare press-and-release waits a moment for it before using the pixel position.
// Returns [target, type, listener, capture] entries for the player to install and remove.
export function clickToSeek(view, events, seek) {
  let pending = null;
  const down = (event) => {
    if (event.button !== 0) return;
    const axis = xAxisGeometry(view.plot);
    const box = view.plot.getBoundingClientRect();
    const px = event.clientX - box.left;
    const py = event.clientY - box.top;
    const inside = axis && px >= axis.left && px <= axis.left + axis.width && py >= axis.top && py <= axis.top + axis.height;
    pending = inside ? { x: event.clientX, y: event.clientY, px, t: axis.toTime(px), toPixel: axis.toPixel } : null;
  };
  const up = (event) => {
    const press = pending;
    pending = null;
    if (!press || Math.hypot(event.clientX - press.x, event.clientY - press.y) > DRAG_PX) return;
    clearTimeout(view.clickTimer);
    view.pointClicked = false;
    view.clickTimer = setTimeout(() => {
      if (!view.pointClicked) seek(snapToEvent(press.t, press.px, events(), press.toPixel, SNAP_PX));
    }, 60);
  };
  view.onPointClick = (seconds) => {
    view.pointClicked = true;
    clearTimeout(view.clickTimer);
    seek(seconds);
  };
  return [[view.plot, "pointerdown", down, true], [window, "pointerup", up, true]];
}

function pointClick(event, onPointClick) {
  const points = (event && event.points) || [];
  if (!points.length) return;
  // Prefer an event marker over a curve sample at the same place.
  const isMarker = (p) => {
    const mode = (p.data && p.data.mode) || "";
    return mode.includes("markers") && !mode.includes("lines");
  };
  const point = points.find(isMarker) || points[0];
  const x = Number(point.x);
  if (Number.isFinite(x)) onPointClick(x);
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
