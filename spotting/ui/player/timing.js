// The player's time logic as pure functions: the clock text, seeking, next / previous event, the
// event counter, snapping a click to a marker, turning the page of a zoomed timeline.
// No DOM, no Plotly, no state: node runs them as they are (tests/js/timing.test.mjs).

// An event this close ahead of the playhead counts as reached: the counter includes it and "n"
// skips it (a seek lands a few ms before its target on some videos).
export const REACHED_S = 0.25;
// "p" skips an event this close behind the playhead, so pressing it right after a jump goes to the
// event before instead of replaying the one just reached.
export const PREVIOUS_SKIP_S = 0.75;

// Whole milliseconds of a time in seconds, truncated toward zero (never rounded up): the one
// quantum the clock text and the reports to Python share. Negative, NaN and ±∞ give 0.
export function truncatedMs(t) {
  if (!Number.isFinite(t) || t <= 0) return 0;
  return Math.floor(t * 1000);
}

// "MM:SS" by the page's rule (spotting/ui/figures.py `clock`: whole seconds truncated, so the
// player never shows 15:59 while the "Now" line says 15:58); with tenths, "MM:SS.d", also truncated.
export function clockText(t, { tenths = false } = {}) {
  const ms = truncatedMs(t);
  const whole = Math.floor(ms / 1000);
  const text = `${String(Math.floor(whole / 60)).padStart(2, "0")}:${String(whole % 60).padStart(2, "0")}`;
  return tenths ? `${text}.${Math.floor((ms % 1000) / 100)}` : text;
}

// The time reported to Python: milliseconds truncated, so Python's int() of it is the whole second
// the player shows (a rounded 958.9996 would read as 15:59 there and 15:58.9 here).
export function reportedTime(t) {
  return truncatedMs(t) / 1000;
}

// Where a seek to `t` lands: inside [0, duration] (an unknown duration, 0 or NaN, bounds nothing
// above); null for a target that is not a number.
export function seekTarget(t, duration) {
  if (typeof t !== "number" || Number.isNaN(t)) return null;
  const end = Number.isFinite(duration) && duration > 0 ? duration : Infinity;
  return Math.min(Math.max(t, 0), end);
}

// The first event after the playhead (events sorted ascending, repeats allowed); null when none.
export function nextEvent(events, t) {
  for (const e of events) if (e > t + REACHED_S) return e;
  return null;
}

// The last event before the playhead, skipping the one just reached; null when none.
export function previousEvent(events, t) {
  for (let i = events.length - 1; i >= 0; i--) if (events[i] < t - PREVIOUS_SKIP_S) return events[i];
  return null;
}

// "event i / N": N counts events (two predictions at one time are two events), i those reached.
export function eventCounterText(events, t) {
  if (!events.length) return "no events";
  let reached = 0;
  while (reached < events.length && events[reached] <= t + REACHED_S) reached++;
  return `event ${reached} / ${events.length}`;
}

// A click at time `t` (pixel `px`) snaps to the nearest event whose marker lies within `maxPx`
// pixels; `toPixel(seconds)` maps a time to the same pixel axis as `px`.
export function snapToEvent(t, px, events, toPixel, maxPx) {
  let best = t;
  let bestPx = maxPx;
  for (const e of events) {
    const d = Math.abs(toPixel(e) - px);
    if (d < bestPx) { bestPx = d; best = e; }
  }
  return best;
}

// Zoomed in and playing past the visible window [lo, hi]: the window to show next, one that starts
// just before the playhead like an audio editor's page turn; null when nothing should move (the
// playhead is visible, or the view is not zoomed in).
export function pageTurn(t, [lo, hi], total) {
  const width = hi - lo;
  if (!(width > 0) || (t >= lo && t <= hi)) return null;
  if (Number.isFinite(total) && total > 0 && width >= 0.98 * total) return null;
  const last = Number.isFinite(total) && total > 0 ? Math.max(0, total - width) : Infinity;
  const start = Math.min(Math.max(t - 0.05 * width, 0), last);
  return [start, start + width];
}
