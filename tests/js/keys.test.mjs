// Shortcut keys and who gets a key press (spotting/ui/player/keys.js). Run: node --test tests/js/
import assert from "node:assert/strict";
import { test } from "node:test";

import { SPEEDS, focusTracker, keyOwner, shortcutAction, stepSpeed } from "../../spotting/ui/player/keys.js";

const PLAYER_KEYS = [" ", "ArrowLeft", "ArrowRight", ",", ".", "n", "p", "[", "]", "?"];

test("each shortcut key has its action", () => {
  assert.deepEqual(shortcutAction(" "), ["togglePlay"]);
  assert.deepEqual(shortcutAction("ArrowLeft"), ["seekBy", -5]);
  assert.deepEqual(shortcutAction("ArrowRight", true), ["seekBy", 30]);
  assert.deepEqual(shortcutAction(","), ["seekBy", -0.5]);
  assert.deepEqual(shortcutAction("N"), ["jumpEvent", 1]);
  assert.deepEqual(shortcutAction("p"), ["jumpEvent", -1]);
  assert.deepEqual(shortcutAction("]"), ["stepRate", 1]);
  assert.deepEqual(shortcutAction("Escape"), ["closeHelp"]);
  assert.equal(shortcutAction("x"), null);
  assert.equal(shortcutAction("Enter"), null);
});

test("a clicked control does not keep the player's keys (Space after 'Next false alarm' plays)", () => {
  for (const key of PLAYER_KEYS) assert.equal(keyOwner(key, "control", true), "player", JSON.stringify(key));
});

test("nothing focused, or the player itself: every key is the player's", () => {
  for (const key of PLAYER_KEYS) assert.equal(keyOwner(key, "none", false), "player", JSON.stringify(key));
});

test("a text field keeps every key, clicked or not", () => {
  for (const key of PLAYER_KEYS) {
    assert.equal(keyOwner(key, "text", true), "page", JSON.stringify(key));
    assert.equal(keyOwner(key, "text", false), "page", JSON.stringify(key));
  }
});

test("a control reached with Tab keeps Space and the arrows; the letter keys still reach the player", () => {
  for (const key of [" ", "ArrowLeft", "ArrowRight"]) assert.equal(keyOwner(key, "control", false), "page", key);
  for (const key of [",", ".", "n", "p", "[", "]", "?"]) assert.equal(keyOwner(key, "control", false), "player", key);
});

test("speed steps stop at the ends of the list", () => {
  assert.equal(stepSpeed(1, +1), 1.5);
  assert.equal(stepSpeed(1, -1), 0.5);
  assert.equal(stepSpeed(SPEEDS[0], -1), SPEEDS[0]);
  assert.equal(stepSpeed(SPEEDS.at(-1), +1), SPEEDS.at(-1));
  assert.equal(stepSpeed(3, +1), 1.5); // unknown speed: counts as 1×
});

// Minimal stand-ins for DOM elements: containment through a parent chain.
function element(parent = null) {
  const node = {
    parent,
    contains(other) { for (let n = other; n; n = n.parent) if (n === node) return true; return false; },
    closest() { return null; },
  };
  return node;
}

function tracker() {
  let clock = 0;
  const t = focusTracker(() => clock);
  const handlers = Object.fromEntries(t.listeners);
  return {
    at: (ms) => { clock = ms; },
    press: (target) => handlers.pointerdown({ target }),
    focus: (target) => handlers.focusin({ target }),
    key: (key) => handlers.keydown({ key }),
    clicked: t.clicked,
  };
}

test("focus that follows a pointer press counts as clicked", () => {
  const button = element();
  const label = element(button);
  const t = tracker();
  t.press(label); // the press lands on the button's text
  t.focus(button);
  assert.equal(t.clicked(button), true);
});

test("focus from a script or long after a press is not a click", () => {
  const slider = element();
  const t = tracker();
  t.focus(slider);
  assert.equal(t.clicked(slider), false);
  t.press(element());
  t.at(5000);
  t.focus(slider);
  assert.equal(t.clicked(slider), false);
});

test("Tab ends the click: the next focused control keeps its keys", () => {
  const button = element();
  const next = element();
  const t = tracker();
  t.press(button);
  t.focus(button);
  t.key("Tab");
  assert.equal(t.clicked(button), false);
  t.focus(next);
  assert.equal(t.clicked(next), false);
});

test("clicking the control that already has the focus (reached with Tab) makes it clicked", () => {
  const toggle = element();
  const t = tracker();
  t.focus(toggle);
  assert.equal(t.clicked(toggle), false);
  t.at(3000);
  t.press(toggle);
  assert.equal(t.clicked(toggle), true);
});

test("only the focused element is clicked", () => {
  const a = element();
  const b = element();
  const t = tracker();
  t.press(a);
  t.focus(a);
  assert.equal(t.clicked(b), false);
});
