// The player's pure time logic (spotting/ui/player/timing.js). Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  clockText, eventCounterText, nextEvent, pageTurn, previousEvent, reportedTime, seekTarget, snapToEvent,
  truncatedMs,
} from "../../spotting/ui/player/timing.js";

test("the clock truncates like the page's clock(): 958.96 s is 15:58, never 15:59", () => {
  assert.equal(clockText(958.96), "15:58");
  assert.equal(clockText(958.96, { tenths: true }), "15:58.9");
  assert.equal(clockText(959), "15:59");
  assert.equal(clockText(959, { tenths: true }), "15:59.0");
  assert.equal(clockText(59.99, { tenths: true }), "00:59.9");
  assert.equal(clockText(0.05, { tenths: true }), "00:00.0");
});

test("the clock pads minutes to two digits like MM:SS and grows past 99 minutes", () => {
  assert.equal(clockText(0), "00:00");
  assert.equal(clockText(65), "01:05");
  assert.equal(clockText(6000), "100:00");
});

test("the clock shows 00:00 for negative, NaN and infinite times", () => {
  for (const t of [-3, -0.4, NaN, Infinity, -Infinity, undefined]) {
    assert.equal(clockText(t), "00:00", String(t));
    assert.equal(clockText(t, { tenths: true }), "00:00.0", String(t));
  }
});

test("whole milliseconds are truncated, so a reported time never reads as the next second", () => {
  assert.equal(truncatedMs(958.9996), 958999);
  assert.equal(reportedTime(958.9996), 958.999);
  assert.equal(Math.trunc(reportedTime(958.9996)), 958);
  assert.equal(reportedTime(12), 12);
  assert.equal(reportedTime(-1), 0);
  // Whole seconds survive the millisecond step for any time: floor(reported) === floor(t).
  for (let i = 0; i < 10000; i++) {
    const t = Math.random() * 6000;
    assert.equal(Math.floor(reportedTime(t)), Math.floor(t), String(t));
  }
});

test("a seek lands inside the half; an unknown duration bounds nothing above", () => {
  assert.equal(seekTarget(-5, 100), 0);
  assert.equal(seekTarget(150, 100), 100);
  assert.equal(seekTarget(42.5, 100), 42.5);
  assert.equal(seekTarget(150, 0), 150);
  assert.equal(seekTarget(150, NaN), 150);
  assert.equal(seekTarget(NaN, 100), null);
  assert.equal(seekTarget("12", 100), null);
  assert.equal(seekTarget(Infinity, 100), 100);
});

const EVENTS = [10, 20, 20, 35.5, 60];

test("n goes to the first event after the playhead, skipping one just reached", () => {
  assert.equal(nextEvent(EVENTS, 0), 10);
  assert.equal(nextEvent(EVENTS, 10), 20);
  assert.equal(nextEvent(EVENTS, 9.9), 20); // 10 is within 0.25 s: reached already
  assert.equal(nextEvent(EVENTS, 20), 35.5); // two events at one time: one jump passes both
  assert.equal(nextEvent(EVENTS, 60), null);
  assert.equal(nextEvent([], 0), null);
});

test("p goes to the event before, not back to the one just reached", () => {
  assert.equal(previousEvent(EVENTS, 60), 35.5);
  assert.equal(previousEvent(EVENTS, 35.5), 20);
  assert.equal(previousEvent(EVENTS, 36), 20); // 35.5 is within 0.75 s behind: skipped
  assert.equal(previousEvent(EVENTS, 36.5), 35.5);
  assert.equal(previousEvent(EVENTS, 10), null);
  assert.equal(previousEvent([], 100), null);
});

test("the counter counts events, not distinct times", () => {
  assert.equal(eventCounterText(EVENTS, 0), "event 0 / 5");
  assert.equal(eventCounterText(EVENTS, 10), "event 1 / 5");
  assert.equal(eventCounterText(EVENTS, 20), "event 3 / 5");
  assert.equal(eventCounterText(EVENTS, 19.8), "event 3 / 5"); // within 0.25 s counts as reached
  assert.equal(eventCounterText(EVENTS, 1000), "event 5 / 5");
  assert.equal(eventCounterText([], 3), "no events");
});

test("n then p walk the events the counter counts", () => {
  let t = 0;
  const seen = [];
  for (let target = nextEvent(EVENTS, t); target !== null; target = nextEvent(EVENTS, t)) {
    t = target;
    seen.push(eventCounterText(EVENTS, t));
  }
  assert.deepEqual(seen, ["event 1 / 5", "event 3 / 5", "event 4 / 5", "event 5 / 5"]);
  assert.equal(previousEvent(EVENTS, t), 35.5);
});

test("a click snaps to the nearest marker within the snap distance, else stays", () => {
  const toPixel = (s) => s * 2; // 2 px per second
  assert.equal(snapToEvent(20.5, 41, EVENTS, toPixel, 6), 20);
  assert.equal(snapToEvent(34.2, 68.4, EVENTS, toPixel, 6), 35.5);
  assert.equal(snapToEvent(45, 90, EVENTS, toPixel, 6), 45);
  assert.equal(snapToEvent(5, 10, [], toPixel, 6), 5);
});

test("a zoomed timeline turns the page when the playhead leaves it; an unzoomed one never does", () => {
  assert.equal(pageTurn(50, [0, 100], 2700), null); // visible
  assert.deepEqual(pageTurn(105, [0, 100], 2700), [100, 200]);
  assert.deepEqual(pageTurn(2695, [2000, 2100], 2700), [2600, 2700]); // the last page ends at the half's end
  assert.deepEqual(pageTurn(2, [500, 600], 2700), [0, 100]);
  assert.equal(pageTurn(2800, [0, 2700], 2700), null); // whole half shown: nothing to follow
  assert.equal(pageTurn(10, [5, 5], 2700), null);
});
