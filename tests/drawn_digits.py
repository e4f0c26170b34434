"""Digits drawn with PIL the way a user draws them in a paint program, for the image tests.

Each digit 0-9 is a few pen strokes (lines and arcs) in a box 0.6 wide and
1 high; ``draw`` renders one at any size, place and pen width, and ``save``
writes it in a given PNG mode and polarity, with the ink in the alpha
channel for the modes a canvas export uses.
"""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

# (kind, data): "line" through points, "arc" of the ellipse in box from start to end
# degrees (PIL's angles: clockwise from 3 o'clock), "ellipse" a closed loop.
STROKES = {
    0: [("ellipse", (0.0, 0.0, 0.6, 1.0))],
    1: [("line", [(0.12, 0.22), (0.38, 0.0), (0.38, 1.0)])],
    2: [
        ("arc", ((0.0, 0.0, 0.6, 0.55), 190, 400)),
        ("line", [(0.56, 0.42), (0.0, 1.0), (0.62, 1.0)]),
    ],
    3: [("arc", ((0.04, 0.0, 0.56, 0.5), 200, 450)), ("arc", ((0.0, 0.5, 0.6, 1.0), 270, 520))],
    4: [("line", [(0.45, 1.0), (0.45, 0.0), (0.0, 0.68), (0.62, 0.68)])],
    5: [
        ("line", [(0.56, 0.0), (0.1, 0.0), (0.05, 0.46)]),
        ("arc", ((0.0, 0.36, 0.6, 1.0), 215, 510)),
    ],
    6: [("arc", ((0.0, 0.0, 1.0, 1.4), 180, 270)), ("ellipse", (0.0, 0.48, 0.6, 1.0))],
    7: [("line", [(0.0, 0.0), (0.6, 0.0), (0.2, 1.0)])],
    8: [("ellipse", (0.06, 0.0, 0.54, 0.46)), ("ellipse", (0.0, 0.46, 0.6, 1.0))],
    9: [("ellipse", (0.0, 0.0, 0.6, 0.5)), ("line", [(0.6, 0.25), (0.52, 1.0)])],
}


def draw(digit: int, canvas=(200, 200), box=(40, 30, 150), pen=0.1, slant=0.0) -> Image.Image:
    """Grey image ("L", 0 = ink, 255 = paper) of one drawn digit.

    ``box`` is (left, top, height) in pixels; the pen width is ``pen`` times
    the height; ``slant`` leans the top right by that fraction of the height.
    """
    img = Image.new("L", canvas, 255)
    pen_draw = ImageDraw.Draw(img)
    left, top, height = box
    width = max(2, round(pen * height))

    def at(x, y):
        return (left + (x + slant * (1 - y)) * height, top + y * height)

    for kind, data in STROKES[digit]:
        if kind == "line":
            points = [at(*p) for p in data]
            pen_draw.line(points, fill=0, width=width, joint="curve")
            for x, y in points:  # round pen ends
                r = width / 2
                pen_draw.ellipse((x - r, y - r, x + r, y + r), fill=0)
        else:
            (x0, y0, x1, y1), start, end = (data, 0, 360) if kind == "ellipse" else data
            shift = slant * (1 - (y0 + y1) / 2)  # a leaning loop keeps its width
            box_px = (left + (x0 + shift) * height, top + y0 * height)
            box_px += (left + (x1 + shift) * height, top + y1 * height)
            pen_draw.arc(box_px, start, end, fill=0, width=width)
    return img


def typed(digit: int, canvas=(200, 200), at=(50, 10), size=160) -> Image.Image:
    """Grey image of a digit typed in Pillow's bundled font (dark on light)."""
    img = Image.new("L", canvas, 255)
    font = ImageFont.load_default(size=size)
    ImageDraw.Draw(img).text(at, str(digit), fill=0, font=font)
    return img


def save(img: Image.Image, path, style: str) -> None:
    """Write ``img`` (dark ink on white, mode "L") as a PNG in ``style``.

    Styles: "L", "RGB" (dark on light), "inverted" (light on dark, "L"),
    "RGBA" / "LA" (black ink whose shape is only in the alpha channel, over
    transparent black, as canvas exports are), "RGBA-white" (white ink in
    the alpha channel), "P" (a palette image with a transparent colour).
    """
    ink = img.point(lambda v: 255 - v)  # 255 where the pen went
    if style == "L":
        out = img
    elif style == "RGB":
        out = Image.merge("RGB", [img.point(lambda v: min(255, v + 30)), img, img])
    elif style == "inverted":
        out = ink
    elif style in ("RGBA", "LA"):
        black = Image.new("L", img.size, 0)
        out = Image.merge(style, [black] * (len(style) - 1) + [ink])
    elif style == "RGBA-white":
        white = Image.new("L", img.size, 255)
        out = Image.merge("RGBA", [white, white, white, ink])
    elif style == "P":
        out = img.point(lambda v: 0 if v < 128 else 255).convert("P")
        out.info["transparency"] = 255
    else:
        raise ValueError(f"unknown style {style!r}")
    out.save(path)
