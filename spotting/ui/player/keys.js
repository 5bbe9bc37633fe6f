// Keyboard shortcuts: which key does what (pure, tested by node), and who gets a key press, the
// player or the focused control (the rule is pure; reading the focus from the DOM is not).
//
// The rule: a text field keeps every key. A control the user clicked (a button, checkbox, slider,
// tab, the half switch, the event table…) does not keep the player's keys: after clicking "Next
// false alarm", Space plays instead of pressing that button again. A control reached with Tab keeps
// the keys it works with (Space / Enter / arrows…), so the page stays usable from the keyboard; the
// player's letter keys still reach the player.

export const SPEEDS = [0.25, 0.5, 1, 1.5, 2, 4];

export const SHORTCUTS = [
  ["Space", "play / pause"],
  ["← / →", "back / forward 5 s"],
  ["Shift + ← / →", "back / forward 30 s"],
  [", / .", "step 0.5 s (one feature frame)"],
  ["n / p", "next / previous event"],
  ["[ / ]", "slower / faster"],
  ["Click the timeline", "seek there (markers snap to their event)"],
  ["?", "show / hide this help"],
];

// Keys a keyboard-focused control works with; it keeps them.
const CONTROL_KEYS = new Set([" ", "Enter", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown",
  "Home", "End", "PageUp", "PageDown"]);

// The action of a key, as [name, argument]; null for a key the player does not use.
export function shortcutAction(key, shiftKey = false) {
  switch (key) {
    case " ": return ["togglePlay"];
    case "ArrowLeft": return ["seekBy", shiftKey ? -30 : -5];
    case "ArrowRight": return ["seekBy", shiftKey ? 30 : 5];
    case ",": return ["seekBy", -0.5];
    case ".": return ["seekBy", 0.5];
    case "n": case "N": return ["jumpEvent", +1];
    case "p": case "P": return ["jumpEvent", -1];
    case "[": return ["stepRate", -1];
    case "]": return ["stepRate", +1];
    case "?": return ["toggleHelp"];
    case "Escape": return ["closeHelp"];
    default: return null;
  }
}

// Who gets `key`: "player" or "page". `focus` is what holds the keyboard focus: "none" (the page
// body, the player's own surface), "text" (a field one types into) or "control"; `clicked` says
// the focused control got the focus from the pointer (not from Tab or a script).
export function keyOwner(key, focus, clicked) {
  if (focus === "text") return "page";
  if (focus === "control" && !clicked && CONTROL_KEYS.has(key)) return "page";
  return "player";
}

// The next playback speed up or down the list; an unknown current speed counts as 1×.
export function stepSpeed(current, direction) {
  const i = SPEEDS.indexOf(current);
  const next = (i < 0 ? SPEEDS.indexOf(1) : i) + direction;
  return SPEEDS[Math.min(Math.max(next, 0), SPEEDS.length - 1)];
}

// ---------------------------------------------------------------- reading the focus (DOM)

const TEXT_FIELDS = "textarea, [contenteditable=''], [contenteditable='true'], [role='textbox'], " +
  "input:not([type]), input[type='text'], input[type='search'], input[type='number'], input[type='email'], " +
  "input[type='password'], input[type='tel'], input[type='url'], input[type='date'], input[type='time'], " +
  "input[type='datetime-local'], input[type='month'], input[type='week']";
const CONTROLS = "button, select, input, a[href], summary, [tabindex], [role='button'], [role='slider'], " +
  "[role='checkbox'], [role='switch'], [role='radio'], [role='tab'], [role='option'], [role='grid'], " +
  "[role='gridcell'], [role='listbox'], [role='menuitem'], [role='spinbutton']";

// What kind of element holds the focus ("none" / "text" / "control"); `surface` (the player's
// root, focusable only so that it can take the keyboard) counts as none.
export function focusKind(element, surface) {
  if (!element || !element.closest || element === surface) return "none";
  if (element === element.ownerDocument?.body || element === element.ownerDocument?.documentElement) return "none";
  if (element.closest(TEXT_FIELDS)) return "text";
  return element.closest(CONTROLS) ? "control" : "none";
}

// Remembers whether the focused element got the focus from the pointer. A pointer press marks the
// element it lands in (and the focus that follows it); Tab clears the mark. Returns the listeners to
// install (capture phase, on window) and `clicked(element)`.
export function focusTracker(now = () => performance.now()) {
  let pressed = null; // { target, at } of the last pointer press, until Tab
  let focused = { element: null, clicked: false };
  const near = (a, b) => Boolean(a && b && (a === b || a.contains?.(b) || b.contains?.(a) ||
    (a.closest?.("label") && a.closest("label") === b.closest?.("label"))));
  return {
    listeners: [
      ["pointerdown", (event) => {
        const target = event.composedPath ? event.composedPath()[0] : event.target;
        pressed = { target, at: now() };
        if (near(focused.element, target)) focused.clicked = true; // a click on what already has the focus
      }],
      ["focusin", (event) => {
        const element = event.composedPath ? event.composedPath()[0] : event.target;
        // Focus follows a press within the same gesture; later it came from a script or the keyboard.
        focused = { element, clicked: Boolean(pressed && now() - pressed.at < 1000) };
      }],
      ["keydown", (event) => {
        if (event.key === "Tab") { pressed = null; focused.clicked = false; }
      }],
    ],
    clicked: (element) => focused.element === element && focused.clicked,
  };
}

// The element that holds the keyboard focus when `event` fires (inside shadow roots too).
export function focusedElement(event) {
  return event.composedPath ? event.composedPath()[0] : event.target;
}
