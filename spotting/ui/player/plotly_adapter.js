// Everything the player asks of Plotly.js, in one place: loading it, drawing, and the axis geometry
// that the playhead and click-to-seek need. Plotly's public API has no call for "which pixel is
// this time" or "where is the plot area"; those answers live in the private `_fullLayout` of a
// drawn graph div (`gd`). Each private use below says why; a Plotly upgrade that moves them breaks
// only this file (the browser tests cover it: cursor position, click-to-seek, resizing).

// Plotly.js (4.8 MB) comes from the app's own route, once per page: a <script> tag, because the
// bundle is a UMD file that sets window.Plotly, not an ES module.
export function loadPlotly(url) {
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

// Whether `gd` holds a drawn plot. Private: `_fullLayout` is set by the first Plotly.react and is
// the only sign of it (gd.layout exists before drawing too).
export function isDrawn(gd) {
  return Boolean(gd && gd._fullLayout);
}

// Draws or updates the figure in place; the listeners are attached on the first draw only.
export function draw(gd, data, layout, config, listeners) {
  const first = !isDrawn(gd);
  return window.Plotly.react(gd, data, layout, config).then(() => {
    if (first) for (const [name, fn] of Object.entries(listeners)) gd.on(name, fn);
  });
}

// Makes the drawn plot fill its div's current height. Private: the height Plotly laid out is
// `_fullLayout.height`; gd.layout.height holds what was asked, which autosize does not update.
export function fitHeight(gd) {
  if (!isDrawn(gd) || !window.Plotly) return Promise.resolve();
  const height = gd.clientHeight;
  const fit = height && Math.abs(gd._fullLayout.height - height) > 1
    ? window.Plotly.relayout(gd, { height }) : Promise.resolve();
  return fit.then(() => window.Plotly.Plots.resize(gd));
}

export function setXRange(gd, range) {
  return window.Plotly.relayout(gd, { "xaxis.range": range });
}

export function purge(gd) {
  if (window.Plotly) window.Plotly.purge(gd);
}

// The shared x axis as the player needs it, or null before the first draw:
//   range   [lo, hi] seconds now visible (after zoom / pan),
//   left, width         the plot area's pixels across the div,
//   top, height         the plot area's pixels down the div,
//   toPixel(t), toTime(px)  seconds ↔ pixels from the div's left edge.
// Private, all of it: `_fullLayout.xaxis.range` is the range in force (gd.layout's may lag a
// relayout), `_offset` / `_length` the axis's pixel extent, `l2p` / `p2l` Plotly's own
// linear ↔ pixel maps (exact for any axis type), `_fullLayout._size` the margins Plotly computed
// (automargin makes them differ from layout.margin).
export function xAxisGeometry(gd) {
  const fl = isDrawn(gd) ? gd._fullLayout : null;
  const xa = fl && fl.xaxis;
  if (!xa || !xa.range) return null;
  const offset = xa._offset;
  return {
    range: xa.range.map(Number),
    left: offset,
    width: xa._length,
    top: fl._size.t,
    height: fl._size.h,
    toPixel: (t) => offset + xa.l2p(t),
    toTime: (px) => xa.p2l(px - offset),
  };
}
