// The player's layout rule (spotting/ui/player/layout.js). Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { BOTTOM_MARGIN_PX, MIN_STAGE_PX, VIDEO_ASPECT, shouldResize, stageHeight } from "../../spotting/ui/player/layout.js";

test("the video takes what the window leaves under the player once the timeline has its room", () => {
  // 1366×768: the player starts 110 px down, controls + timeline take 390 px.
  const h = stageHeight({ viewportPx: 768, topPx: 110, belowPx: 390, widthPx: 800 });
  assert.equal(h, 768 - 110 - 390 - BOTTOM_MARGIN_PX);
  assert.ok(110 + h + 390 <= 768, "video and timeline end inside the window");
});

test("a wide window does not make the video taller than its width allows at 16:9, nor than the cap", () => {
  assert.equal(stageHeight({ viewportPx: 2000, topPx: 100, belowPx: 300, widthPx: 640 }), Math.round(640 / VIDEO_ASPECT));
  assert.equal(stageHeight({ viewportPx: 2000, topPx: 100, belowPx: 300, widthPx: 4000, maxPx: 500 }), 500);
});

test("a window too short keeps a usable video (the page scrolls) rather than none", () => {
  assert.equal(stageHeight({ viewportPx: 500, topPx: 200, belowPx: 600, widthPx: 800 }), MIN_STAGE_PX);
  assert.equal(stageHeight({ viewportPx: 500, topPx: 200, belowPx: 600, widthPx: 800, minPx: 90 }), 90);
});

test("sizes that are not numbers give the minimum, never NaN", () => {
  for (const bad of [NaN, undefined, Infinity]) {
    assert.equal(stageHeight({ viewportPx: bad, topPx: 10, belowPx: 10, widthPx: 100 }), MIN_STAGE_PX);
  }
  assert.equal(stageHeight({ viewportPx: 900, topPx: 0, belowPx: 0, widthPx: 0, maxPx: 0 }), 900 - BOTTOM_MARGIN_PX);
});

test("the stage is resized only for a change of more than two pixels", () => {
  assert.ok(shouldResize(undefined, 300));
  assert.ok(!shouldResize(300, 301.5));
  assert.ok(shouldResize(300, 310));
});
