// How tall the video is: the player fits the window, so the video and the timeline under it are both
// in view without scrolling (a 1366×768 laptop included). Pure functions: node tests them
// (tests/js/layout.test.mjs); player.js reads the sizes from the DOM and applies the result.

export const MIN_STAGE_PX = 150; // below this a video shows nothing useful: the page scrolls instead
export const VIDEO_ASPECT = 16 / 9; // SoccerNet's videos (224p / 720p) and the demo's
export const BOTTOM_MARGIN_PX = 10; // room under the player before the window's edge

// The video stage's height in pixels: what is left of the window under the player's top once the
// controls and the timeline (`belowPx`) have their room, no taller than the width allows at 16:9 nor
// than `maxPx`, and at least `minPx`.
//   viewportPx  window.innerHeight
//   topPx       the player's top in the page (scrolled-away pixels added back: the answer must not
//               change when the user scrolls)
export function stageHeight({ viewportPx, topPx, belowPx, widthPx, maxPx = 640, minPx = MIN_STAGE_PX }) {
  const values = [viewportPx, topPx, belowPx].map(Number);
  if (!values.every(Number.isFinite)) return minPx;
  const room = values[0] - values[1] - values[2] - BOTTOM_MARGIN_PX;
  const byWidth = Number.isFinite(widthPx) && widthPx > 0 ? widthPx / VIDEO_ASPECT : Infinity;
  const cap = Number.isFinite(maxPx) && maxPx > 0 ? maxPx : Infinity;
  return Math.round(Math.max(minPx, Math.min(room, byWidth, cap)));
}

// Whether a new stage height is worth a relayout: it changed by more than a pixel or two (sub-pixel
// jitter from fonts loading or a scrollbar must not resize the video on every frame).
export function shouldResize(current, next) {
  return !Number.isFinite(current) || Math.abs(next - current) > 2;
}
