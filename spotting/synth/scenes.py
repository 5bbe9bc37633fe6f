"""The close-up shot the broadcast cuts to for each of the 17 classes, and the "not shown" graphic.

Each visible event cuts from the wide view to its class's shot at the event's feature frame (a hard
cut, so the cue's onset is the event time to the frame) and keeps it for ``CUE_SECONDS``. A shot is
a static template (pre-drawn once per game and team: kit colours differ between games) plus a few
moving sprites (ball, card, flag) interpolated over the shot's first seconds. Each class has its
own layout (where the goal, the line, the boards, the players are) so the shots stay apart in the
feature space. A "not shown" event gets a lower-third graphic with the class's colour code instead.
"""

from __future__ import annotations

import cv2
import numpy as np

from spotting.soccernet import CLASS_INDEX, CLASSES, NUM_CLASSES

W, H = 398, 224  # SoccerNet's 224p frame
CUE_SECONDS = np.full(NUM_CLASSES, 4.0)
CUE_SECONDS[CLASS_INDEX["Goal"]] = 7.0  # ball in the net, then the celebration
BANNER_SECONDS = 3.0

GRASS = ((60, 140, 50), (50, 122, 42))  # BGR stripes
WHITE, BLACK, SKIN = (235, 235, 235), (25, 25, 25), (120, 160, 210)
YELLOW, RED, KEEPER, FLAG = (0, 215, 255), (20, 20, 215), (180, 90, 255), (0, 230, 250)
# Kit colours the generator picks two of per game (no green, no card colours).
KITS = ((40, 40, 190), (180, 70, 20), (235, 235, 235), (230, 180, 90), (90, 30, 20),
        (50, 20, 120), (140, 40, 110), (30, 30, 30))
# Lower-third colour code of each class for "not shown" events: (left block, right block).
_CODE_COLOURS = ((0, 215, 255), (20, 20, 215), (230, 140, 30), (40, 200, 40), (200, 60, 200), (240, 240, 240))
BANNER_CODES = tuple((_CODE_COLOURS[c % 6], _CODE_COLOURS[(c // 6 + c % 6 + 1) % 6]) for c in range(NUM_CLASSES))


def grass(img: np.ndarray, y0: int = 0, stripe: int = 50, slant: float = 0.0) -> None:
    """Mowing stripes below row ``y0``; ``slant`` tilts them (x shift per row) for other camera angles."""
    ys, xs = np.mgrid[y0:H, 0:W]
    band = ((xs + slant * ys) // stripe).astype(np.int64) % 2
    img[y0:H] = np.where(band[..., None] == 0, GRASS[0], GRASS[1])


def crowd(img: np.ndarray, y0: int, y1: int, rng: np.random.Generator, dark: float = 1.0) -> None:
    """Blurred multicolour blobs: the stands behind the pitch."""
    small = rng.integers(50, 170, size=(max(2, (y1 - y0) // 8), W // 8, 3)).astype(np.uint8)
    stands = cv2.GaussianBlur(cv2.resize(small, (W, y1 - y0), interpolation=cv2.INTER_LINEAR), (0, 0), 3)
    img[y0:y1] = (stands * dark).astype(np.uint8)  # soft: a video codec spends little on it


def boards(img: np.ndarray, y0: int, y1: int, colours: tuple, width: int = 66) -> None:
    for i, x in enumerate(range(0, W, width)):
        cv2.rectangle(img, (x, y0), (x + width - 1, y1), colours[i % len(colours)], -1)
        cv2.rectangle(img, (x + 8, y0 + (y1 - y0) // 3), (x + width - 12, y1 - (y1 - y0) // 3), WHITE, -1)


def player(img: np.ndarray, x: int, y: int, h: int, kit: tuple, arms_up: bool = False, lying: bool = False) -> None:
    """A player standing with the feet at (x, y), ``h`` pixels tall (lying: along x instead)."""
    if lying:
        cv2.rectangle(img, (x - h // 2, y - h // 6), (x + h // 10, y), kit, -1)
        cv2.rectangle(img, (x + h // 10, y - h // 7), (x + h // 2, y - h // 40), (240, 240, 240), -1)
        cv2.circle(img, (x - h // 2 - h // 12, y - h // 12), max(2, h // 10), SKIN, -1)
        return
    w = max(3, h // 3)
    cv2.line(img, (x - w // 4, y), (x - w // 4, y - h * 2 // 5), SKIN, max(1, w // 4))
    cv2.line(img, (x + w // 4, y), (x + w // 4, y - h * 2 // 5), SKIN, max(1, w // 4))
    cv2.rectangle(img, (x - w // 2, y - h // 2), (x + w // 2, y - h * 2 // 5), (240, 240, 240), -1)
    cv2.rectangle(img, (x - w // 2, y - h * 17 // 20), (x + w // 2, y - h // 2), kit, -1)
    cv2.circle(img, (x, y - h * 9 // 10), max(2, h // 10), SKIN, -1)
    if arms_up:
        for side in (-1, 1):
            cv2.line(img, (x + side * w // 2, y - h * 4 // 5), (x + side * w * 3 // 4, y - h * 21 // 20), kit, max(1, w // 4))


def goal(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, mesh: int = 10, post: int = 4) -> None:
    """Goal frame with its net, seen from the front."""
    net = img[y0:y1, x0:x1]
    net[::mesh] = net[::mesh] // 2 + 100
    net[:, ::mesh] = net[:, ::mesh] // 2 + 100
    cv2.rectangle(img, (x0, y0), (x1, y1 + post), WHITE, post)


def _template(cls: str, kit: tuple, other: tuple, rng: np.random.Generator, sponsors: tuple) -> np.ndarray:
    """The static part of a class's shot; ``kit`` is the acting team's colour, ``other`` the opponent's."""
    img = np.zeros((H, W, 3), np.uint8)
    if cls == "Penalty":  # behind the taker: big goal, keeper on the line, players outside the box
        crowd(img, 0, 60, rng)
        grass(img, 60, 70)
        goal(img, 90, 62, 308, 140, mesh=8)
        cv2.line(img, (0, 196), (W, 196), WHITE, 3)
        for i in range(6):
            player(img, 14 + 22 * i + (250 if i > 2 else 0), 214, 40, other if i % 2 else kit)
    elif cls == "Kick-off":  # high camera on the centre circle, both teams in their halves
        grass(img, 0, 40)
        cv2.ellipse(img, (W // 2, 120), (130, 62), 0, 0, 360, WHITE, 3)
        cv2.line(img, (W // 2, 0), (W // 2, H), WHITE, 3)
        for i in range(5):
            player(img, 50 + 25 * i, 60 + 30 * (i % 3), 22, kit)
            player(img, 250 + 25 * i, 60 + 30 * ((i + 1) % 3), 22, other)
    elif cls == "Goal":  # the net fills the frame
        img[:] = (70, 70, 70)
        goal(img, 0, 20, W, 210, mesh=14, post=10)
        grass(img, 206, 40)
    elif cls == "Substitution":  # touchline: stands, boards, fourth official holding the board
        crowd(img, 0, 80, rng)
        boards(img, 80, 108, sponsors)
        grass(img, 108, 60)
        player(img, 120, 215, 90, kit)
        player(img, 290, 215, 90, kit)
        player(img, 205, 220, 100, BLACK)
    elif cls == "Offside":  # the assistant referee on the touchline, flag up, and the drawn offside line
        crowd(img, 0, 50, rng)
        boards(img, 50, 80, sponsors)
        grass(img, 80, 45)
        cv2.line(img, (0, 205), (W, 205), WHITE, 4)
        for i in range(4):
            player(img, 40 + 30 * i, 150 + 10 * (i % 2), 45, kit if i % 2 else other)
        overlay = img.copy()
        cv2.rectangle(overlay, (0, 80), (150, 200), (240, 220, 0), -1)  # the offside zone, shaded
        cv2.addWeighted(overlay, 0.35, img, 0.65, 0, dst=img)
        cv2.line(img, (150, 80), (150, 200), (240, 220, 0), 4)
        player(img, 280, 215, 130, (0, 230, 200), arms_up=True)  # fluorescent kit
    elif cls == "Shots on target":  # side angle: goal on the right, keeper diving at the ball
        crowd(img, 0, 50, rng)
        grass(img, 50, 40, slant=0.6)
        goal(img, 300, 40, 390, 150, mesh=7)
        player(img, 80, 200, 70, kit)
    elif cls == "Shots off target":  # goal on the left, ball over the bar, striker's hands on head
        crowd(img, 0, 90, rng)
        grass(img, 90, 40, slant=-0.6)
        goal(img, 10, 96, 120, 170, mesh=7)
        player(img, 290, 215, 110, kit, arms_up=True)
    elif cls == "Clearance":  # camera tilted up to the stands, the ball hoofed into the sky
        crowd(img, 0, 150, rng, dark=0.6)
        boards(img, 150, 170, sponsors)
        grass(img, 170, 40)
        player(img, 200, 222, 50, kit)
    elif cls == "Ball out of play":  # low angle on the touchline and the boards
        crowd(img, 0, 50, rng)
        boards(img, 50, 110, sponsors, width=100)
        grass(img, 110, 30)
        cv2.line(img, (0, 200), (W, 130), WHITE, 6)
    elif cls == "Throw-in":  # the thrower, arms up, on the touchline
        crowd(img, 0, 40, rng)
        boards(img, 40, 80, sponsors)
        grass(img, 80, 80)
        cv2.line(img, (0, 190), (W, 190), WHITE, 5)
        player(img, 200, 205, 120, kit, arms_up=True)
    elif cls == "Foul":  # close-up: a player down, the opponent over him, the referee running in
        grass(img, 0, 90)
        player(img, 200, 190, 150, kit, lying=True)
        player(img, 100, 170, 130, other)
        player(img, 330, 150, 90, BLACK)
    elif cls == "Indirect free-kick":  # referee's arm straight up, ball on the grass
        crowd(img, 0, 30, rng)
        grass(img, 30, 55)
        player(img, 199, 215, 160, BLACK)
        cv2.line(img, (224, 100), (236, 10), BLACK, 9)
        player(img, 90, 200, 100, kit)
    elif cls == "Direct free-kick":  # the wall, the goal behind it, the kicker
        crowd(img, 0, 40, rng)
        grass(img, 40, 60)
        goal(img, 130, 45, 270, 95, mesh=6, post=3)
        for i in range(5):
            player(img, 150 + 24 * i, 165, 70, other, arms_up=i % 2 == 0)
        player(img, 60, 220, 80, kit)
    elif cls == "Corner":  # the corner flag and arc, a player at the flag
        crowd(img, 0, 45, rng)
        boards(img, 45, 70, sponsors)
        grass(img, 70, 50, slant=0.4)
        cv2.line(img, (0, 150), (W, 110), WHITE, 4)
        cv2.line(img, (60, H), (110, 136), WHITE, 4)
        cv2.ellipse(img, (110, 136), (50, 22), 0, 20, 160, WHITE, 3)
        cv2.line(img, (110, 136), (110, 70), (200, 200, 200), 3)
        cv2.rectangle(img, (111, 70), (140, 88), FLAG, -1)
        player(img, 160, 200, 80, kit)
    elif cls == "celebration":  # after a goal: the scorer's team piles up in front of the fans
        crowd(img, 0, 120, rng)
        boards(img, 120, 140, sponsors)
        grass(img, 140, 60)
        for i in range(7):
            player(img, 60 + 45 * i, 200 + 14 * (i % 2), 110 - 10 * (i % 3), kit, arms_up=True)
    elif cls == "Yellow card":  # referee close-up in front of the booked player, stands behind
        crowd(img, 0, H, rng, dark=0.5)
        _referee_close_up(img, 200)
        player(img, 340, 224, 170, kit)
    elif cls == "Red card":  # wider: the referee sends the player off towards the tunnel
        crowd(img, 0, 95, rng)
        boards(img, 95, 120, sponsors)
        grass(img, 120, 70)
        _referee_close_up(img, 140)
        player(img, 330, 200, 90, kit)
    elif cls == "Yellow->red card":  # second yellow, then red, one in each hand, on the pitch
        crowd(img, 0, 60, rng, dark=0.7)
        grass(img, 60, 90, slant=0.5)
        _referee_close_up(img, 199)
        player(img, 60, 224, 150, kit)
    else:  # a class without a scene would silently look like another one: the features would lie
        raise ValueError(f"no synthetic scene for class {cls!r}")
    return img


def _referee_close_up(img: np.ndarray, x: int) -> None:
    cv2.rectangle(img, (x - 80, 110), (x + 80, H), BLACK, -1)
    cv2.circle(img, (x, 75), 34, SKIN, -1)


# Moving sprites: (kind, colour, size, start (x, y), end (x, y), t0, t1) in seconds since the cut.
_BALL, _CARD = "ball", "card"
_SPRITES: dict[str, tuple] = {
    "Penalty": ((_BALL, WHITE, 7, (199, 185), (130, 95), 0.0, 0.5), ("keeper", KEEPER, 60, (199, 140), (260, 130), 0.0, 0.5)),
    "Kick-off": ((_BALL, WHITE, 6, (199, 120), (150, 135), 0.3, 1.5),),
    "Goal": ((_BALL, WHITE, 16, (199, 200), (230, 110), 0.0, 0.6),),
    "Substitution": ((_CARD, BLACK, 34, (205, 150), (205, 90), 0.0, 0.5),),
    "Offside": ((_CARD, RED, 30, (300, 120), (305, 60), 0.0, 0.4), (_CARD, FLAG, 16, (300, 120), (305, 60), 0.0, 0.4)),
    "Shots on target": ((_BALL, WHITE, 7, (110, 170), (330, 95), 0.0, 0.7), ("keeper", KEEPER, 60, (370, 150), (340, 120), 0.2, 0.7)),
    "Shots off target": ((_BALL, WHITE, 7, (250, 160), (60, 10), 0.0, 0.8),),
    "Clearance": ((_BALL, WHITE, 9, (205, 200), (150, 10), 0.0, 1.2),),
    "Ball out of play": ((_BALL, WHITE, 10, (250, 200), (170, 120), 0.0, 1.0),),
    "Throw-in": ((_BALL, WHITE, 14, (200, 80), (180, 40), 0.0, 1.5),),
    "Foul": ((_CARD, BLACK, 8, (330, 40), (330, 40), 0.0, 1.0),),
    "Indirect free-kick": ((_BALL, WHITE, 8, (160, 200), (160, 200), 0.0, 1.0),),
    "Direct free-kick": ((_BALL, WHITE, 7, (90, 210), (200, 60), 0.5, 1.6),),
    "Corner": ((_BALL, WHITE, 7, (122, 140), (330, 60), 1.0, 2.0),),
    "Yellow card": ((_CARD, YELLOW, 34, (250, 150), (250, 30), 0.0, 0.5),),
    "Red card": ((_CARD, RED, 40, (80, 150), (60, 30), 0.0, 0.5),),
    "Yellow->red card": ((_CARD, YELLOW, 34, (130, 150), (110, 30), 0.0, 0.5), (_CARD, RED, 34, (270, 150), (290, 30), 0.0, 0.5)),
}


class SceneBook:
    """One game's shot templates (per class and acting team) and lower-third graphics."""

    def __init__(self, kits: tuple[tuple, tuple], rng: np.random.Generator) -> None:
        sponsors = tuple(tuple(int(v) for v in rng.integers(30, 230, 3)) for _ in range(3))
        self.templates = np.stack([
            np.stack([_template(name, kits[team], kits[1 - team], rng, sponsors) for team in (0, 1)])
            for name in CLASSES])  # (17, 2, H, W, 3) uint8
        self.celebration = np.stack([_template("celebration", kits[t], kits[1 - t], rng, sponsors) for t in (0, 1)])
        self.banners = np.stack([_banner(c) for c in range(NUM_CLASSES)])  # (17, BANNER_H, BANNER_W, 3)

    def draw_cue(self, out: np.ndarray, cls: int, team: int, phase: float, flip: bool) -> None:
        """Write the shot of class ``cls`` at ``phase`` seconds after the cut into ``out`` (H, W, 3)."""
        celebrating = CLASSES[cls] == "Goal" and phase >= 1.5
        template = self.celebration[team] if celebrating else self.templates[cls, team]
        out[:] = template[:, ::-1] if flip else template
        for kind, colour, size, p0, p1, t0, t1 in () if celebrating else _SPRITES[CLASSES[cls]]:
            u = min(max((phase - t0) / max(t1 - t0, 1e-6), 0.0), 1.0)
            x = int(p0[0] + u * (p1[0] - p0[0]))
            y = int(p0[1] + u * (p1[1] - p0[1]))
            x = W - 1 - x if flip else x
            if kind == _BALL:
                cv2.circle(out, (x, y), size, colour, -1)
                cv2.circle(out, (x, y), size, (60, 60, 60), 1)
            elif kind == _CARD:
                cv2.rectangle(out, (x - size // 2, y - size * 2 // 3), (x + size // 2, y + size * 2 // 3), colour, -1)
            else:  # the keeper, a standing player of ``size`` pixels
                player(out, x, y, size, colour, arms_up=True)
        if celebrating:
            cv2.putText(out, "GOAL!", (96, 130), cv2.FONT_HERSHEY_DUPLEX, 2.4, YELLOW, 6, cv2.LINE_AA)


BANNER_Y, BANNER_X, BANNER_H, BANNER_W = 178, 24, 28, 350


def _banner(cls: int) -> np.ndarray:
    """Lower-third graphic for a "not shown" event: colour code, then the class name."""
    img = np.full((BANNER_H, BANNER_W, 3), (70, 35, 20), np.uint8)
    left, right = BANNER_CODES[cls]
    img[:, :60] = left
    img[:, -40:] = right
    cv2.putText(img, CLASSES[cls].upper(), (70, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, WHITE, 1, cv2.LINE_AA)
    return img


def draw_banner(out: np.ndarray, banner: np.ndarray) -> None:
    out[BANNER_Y:BANNER_Y + BANNER_H, BANNER_X:BANNER_X + BANNER_W] = banner
