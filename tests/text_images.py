"""Deterministic test images with known text (signs, screenshots, receipts) and plain photos without text.

Written before any OCR constant was chosen and kept fixed since: the OCR engine, its gate and its sizes
are judged on these images, so changing them to suit the engine would make the figures meaningless.
Two splits come from two seeds: TUNING (look at it while choosing) and HELD_OUT (only for the final
figures). Every image carries its ground-truth words; ``word_tokens`` says how a word counts as read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

TUNING_SEED = 11
HELD_OUT_SEED = 2026

KINDS = ("words", "screenshot", "receipt", "sign", "fashion-sign", "plain", "fashion-plain")
TEXT_KINDS = ("words", "screenshot", "receipt", "sign", "fashion-sign")

# Common English words, a fixed list (not chosen for any engine); codes and numbers are drawn at random.
WORDS = (
    "time year people way day man thing woman life child world school state family student group country "
    "problem hand part place case week company system program question work government number night point "
    "home water room mother area money story fact month lot right study book eye job word business issue "
    "side kind head house service friend father power hour game line end member law car city community name "
    "president team minute idea kid body information back parent face others level office door health person "
    "art war history party result change morning reason research girl guy moment air teacher force education "
    "garden market station bridge window coffee ticket travel summer winter river island mountain forest "
    "kitchen dinner lunch breakfast bread cheese orange yellow purple silver golden green little happy simple "
    "open closed welcome exit entrance parking platform gate museum library hotel bakery pharmacy street "
    "avenue harbor airport police doctor garage pizza bottle sugar salt paper pencil camera phone screen"
).split()

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
               "DejaVuSansMono.ttf", "DejaVuSansCondensed.ttf", "DejaVuSans-Oblique.ttf")
_MONO = "DejaVuSansMono.ttf"


@dataclass(frozen=True)
class TextImage:
    """One generated image: its pixels, what kind it is, and the words written on it (none for plain)."""

    name: str
    kind: str
    image: Image.Image
    words: tuple[str, ...]


def word_tokens(text: str) -> list[str]:
    """Lower-case alphanumeric runs: how a keyword index (FTS5 unicode61) splits "X7Q-22" or "12.40"."""
    return re.findall(r"[0-9a-z]+", text.lower())


def found_words(truth: tuple[str, ...], read: str) -> int:
    """How many ground-truth words were read: every token of the word appears among the read tokens."""
    have = set(word_tokens(read))
    return sum(1 for w in truth if all(t in have for t in word_tokens(w)))


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A DejaVu font when installed (fonts-dejavu-core), else Pillow's built-in scalable font."""
    path = _FONT_DIR / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def _code(rng: np.random.Generator) -> str:
    """A random code or number of the kind people search for: "B12", "4471", "X7Q-22"."""
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    style = int(rng.integers(0, 4))
    if style == 0:
        return f"{letters[rng.integers(len(letters))]}{rng.integers(1, 99)}"
    if style == 1:
        return str(int(rng.integers(1000, 99999)))
    if style == 2:
        a = "".join(letters[i] for i in rng.integers(0, len(letters), 2))
        return f"{a[0]}{rng.integers(1, 9)}{a[1]}-{rng.integers(10, 99)}"
    return f"{letters[rng.integers(len(letters))]}{rng.integers(100, 9999)}"


def _token(rng: np.random.Generator) -> str:
    if rng.random() < 0.35:
        return _code(rng)
    word = WORDS[int(rng.integers(len(WORDS)))]
    return word.upper() if rng.random() < 0.3 else word.capitalize() if rng.random() < 0.5 else word


def photo_background(rng: np.random.Generator, width: int, height: int, noise: int = 12) -> Image.Image:
    """A photo-like field: smooth random structure plus sensor-like grain (like bench/common.py)."""
    cells = rng.integers(0, 255, (max(2, height // 60), max(2, width // 60), 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(cells).resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    grain = rng.integers(-noise, noise + 1, (height, width, 3), dtype=np.int16)
    return Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))


def _contrasting(rng: np.random.Generator, behind: tuple[int, int, int]) -> tuple[int, int, int]:
    """A random colour whose luminance differs from *behind* by at least 110 of 255."""
    lum_behind = 0.299 * behind[0] + 0.587 * behind[1] + 0.114 * behind[2]
    while True:
        c = tuple(int(v) for v in rng.integers(0, 256, 3))
        if abs(0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2] - lum_behind) >= 110:
            return c  # type: ignore[return-value]


def _text_layer(text: str, fnt, fill, angle: float, panel=None, pad: int = 0) -> Image.Image:
    """*text* on a transparent layer (on a coloured panel when given), rotated by *angle* degrees."""
    left, top, right, bottom = fnt.getbbox(text)
    w, h = right - left + 2 * pad + 4, bottom - top + 2 * pad + 4
    layer = Image.new("RGBA", (w, h), (*panel, 255) if panel else (0, 0, 0, 0))
    ImageDraw.Draw(layer).text((pad + 2 - left, pad + 2 - top), text, font=fnt, fill=(*fill, 255))
    return layer.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True) if angle else layer


def _paste(canvas: Image.Image, layer: Image.Image, rng: np.random.Generator,
           taken: list[tuple[int, int, int, int]]) -> bool:
    """Paste *layer* somewhere free on *canvas* (no overlap with *taken*); False when it does not fit."""
    cw, ch = canvas.size
    lw, lh = layer.size
    if lw >= cw or lh >= ch:
        return False
    for _ in range(40):
        x, y = int(rng.integers(0, cw - lw)), int(rng.integers(0, ch - lh))
        box = (x - 8, y - 8, x + lw + 8, y + lh + 8)
        if all(box[2] <= t[0] or box[0] >= t[2] or box[3] <= t[1] or box[1] >= t[3] for t in taken):
            canvas.paste(layer, (x, y), layer)
            taken.append(box)
            return True
    return False


def words_image(rng: np.random.Generator) -> tuple[Image.Image, tuple[str, ...]]:
    """2-5 words and numbers in mixed fonts, sizes, colours and slight rotations on a photo background."""
    w, h = int(rng.integers(900, 1600)), int(rng.integers(700, 1200))
    img = photo_background(rng, w, h, noise=int(rng.integers(4, 24)))
    placed: list[str] = []
    taken: list[tuple[int, int, int, int]] = []
    for _ in range(int(rng.integers(2, 6))):
        word = _token(rng)
        fnt = font(_FONT_FILES[int(rng.integers(len(_FONT_FILES)))], int(rng.integers(28, 90)))
        on_panel = rng.random() < 0.6  # text straight on a busy background is also legal, but rarer
        panel = tuple(int(v) for v in rng.integers(0, 256, 3)) if on_panel else None
        behind = panel or tuple(int(v) for v in np.asarray(img).reshape(-1, 3).mean(0))
        layer = _text_layer(word, fnt, _contrasting(rng, behind), float(rng.uniform(-8, 8)), panel,
                            pad=int(rng.integers(6, 20)))
        if _paste(img, layer, rng, taken):
            placed.append(word)
    if rng.random() < 0.3:
        img = img.filter(ImageFilter.GaussianBlur(0.8))
    return img, tuple(placed)


def screenshot(rng: np.random.Generator) -> tuple[Image.Image, tuple[str, ...]]:
    """A 1920x1080 desktop-app screenshot: title bar, sidebar, buttons and lines of body text."""
    dark = rng.random() < 0.35
    bg, fg = ((30, 32, 36), (225, 228, 232)) if dark else ((246, 246, 248), (30, 30, 34))
    img = Image.new("RGB", (1920, 1080), bg)
    d = ImageDraw.Draw(img)
    words: list[str] = []
    accent = tuple(int(v) for v in rng.integers(20, 140, 3))
    d.rectangle((0, 0, 1920, 56), fill=accent)
    title = " ".join(_token(rng) for _ in range(3))
    d.text((24, 14), title, font=font("DejaVuSans-Bold.ttf", 24), fill=(255, 255, 255))
    words += title.split()
    side = (44, 46, 52) if dark else (226, 228, 234)
    d.rectangle((0, 56, 300, 1080), fill=side)
    small = font("DejaVuSans.ttf", int(rng.integers(17, 22)))
    for i in range(int(rng.integers(5, 10))):
        item = _token(rng)
        d.text((28, 90 + i * 46), item, font=small, fill=fg)
        words.append(item)
    body_font = font(_FONT_FILES[int(rng.integers(len(_FONT_FILES)))], int(rng.integers(18, 28)))
    y = 100
    for _ in range(int(rng.integers(6, 12))):
        line = " ".join(_token(rng) for _ in range(int(rng.integers(2, 7))))
        d.text((360, y), line, font=body_font, fill=fg)
        words += line.split()
        y += int(body_font.size * 2.1)
        if y > 900:
            break
    for i in range(int(rng.integers(1, 4))):
        label = _token(rng)
        x0 = 360 + i * 220
        d.rounded_rectangle((x0, 960, x0 + 190, 1010), 8, fill=accent)
        d.text((x0 + 18, 972), label, font=font("DejaVuSans-Bold.ttf", 20), fill=(255, 255, 255))
        words.append(label)
    return img, tuple(words)


def receipt(rng: np.random.Generator) -> tuple[Image.Image, tuple[str, ...]]:
    """A shop receipt (invoice number, items, prices, total) lying slightly askew on a table photo."""
    size = int(rng.integers(26, 36))
    mono = font(_MONO, size)
    lines = [f"INVOICE {rng.integers(1000, 9999)}", f"{_token(rng).upper()} {_token(rng).upper()}"]
    total = 0.0
    for _ in range(int(rng.integers(3, 8))):
        price = float(rng.integers(50, 4000)) / 100
        total += price
        lines.append(f"{WORDS[int(rng.integers(len(WORDS)))]:<14}{price:>8.2f}")
    lines.append(f"{'TOTAL':<14}{total:>8.2f}")
    paper_w, line_h = int(size * 15), int(size * 1.6)
    paper = Image.new("RGBA", (paper_w, line_h * (len(lines) + 2)), (250, 248, 240, 255))
    d = ImageDraw.Draw(paper)
    for i, line in enumerate(lines):
        d.text((size, line_h * (i + 1)), line, font=mono, fill=(25, 25, 25, 255))
    paper = paper.rotate(float(rng.uniform(-6, 6)), resample=Image.Resampling.BICUBIC, expand=True)
    table = photo_background(rng, paper.width + 400, paper.height + 300, noise=10)
    table.paste(paper, (200, 150), paper)
    return table, tuple(" ".join(lines).split())


def sign_photo(rng: np.random.Generator, width: int = 4000, height: int = 3000) -> tuple[Image.Image, tuple[str, ...]]:
    """A 12 MP photo-like image with a sign: one or two words on a panel, letters 60-260 px tall."""
    img = photo_background(rng, width, height, noise=int(rng.integers(6, 18)))
    words = tuple(_token(rng) for _ in range(int(rng.integers(1, 3))))
    panel = tuple(int(v) for v in rng.integers(0, 256, 3))
    fnt = font(_FONT_FILES[int(rng.integers(len(_FONT_FILES)))], int(rng.integers(60, 260)))
    layer = _text_layer(" ".join(words), fnt, _contrasting(rng, panel), float(rng.uniform(-5, 5)), panel,
                        pad=int(rng.integers(20, 60)))
    if not _paste(img, layer, rng, []):
        img.paste(layer, (0, 0), layer)
    return img, words


def fashion_sign(rng: np.random.Generator, fashion: np.ndarray) -> tuple[Image.Image, tuple[str, ...]]:
    """A Fashion-MNIST photo (upscaled) with a price tag or label pasted onto it."""
    side = int(rng.choice([448, 672, 896]))
    img = Image.fromarray(fashion, "L").resize((side, side), Image.Resampling.BICUBIC).convert("RGB")
    word = _token(rng)
    panel = tuple(int(v) for v in rng.integers(0, 256, 3))
    fnt = font(_FONT_FILES[int(rng.integers(len(_FONT_FILES)))], int(side * rng.uniform(0.06, 0.12)))
    layer = _text_layer(word, fnt, _contrasting(rng, panel), float(rng.uniform(-6, 6)), panel, pad=side // 40)
    if not _paste(img, layer, rng, []):
        img.paste(layer, (0, 0), layer)
    return img, (word,)


def _fashion_split() -> np.ndarray | None:
    try:
        import fashion_mnist as fm
    except ImportError:  # tools/ not on the path
        return None
    if not fm.available():
        return None
    return fm.load("test").images


def generate(seed: int, per_kind: int = 6, kinds: tuple[str, ...] = KINDS,
             photo_size: tuple[int, int] = (4000, 3000)) -> list[TextImage]:
    """*per_kind* images of each kind in *kinds*, all decided by *seed* (same seed, same pixels).

    Fashion-MNIST kinds are left out when the data set is not installed. *photo_size* sets the size of
    sign and plain photos (12 MP by default; tests may ask for less to stay fast)."""
    rng = np.random.default_rng(seed)
    fashion = _fashion_split() if {"fashion-sign", "fashion-plain"} & set(kinds) else None
    out: list[TextImage] = []
    for kind in kinds:
        for i in range(per_kind):
            sub = np.random.default_rng([seed, KINDS.index(kind), i])
            name = f"{kind}-{seed}-{i:03d}"
            if kind == "words":
                img, words = words_image(sub)
            elif kind == "screenshot":
                img, words = screenshot(sub)
            elif kind == "receipt":
                img, words = receipt(sub)
            elif kind == "sign":
                img, words = sign_photo(sub, *photo_size)
            elif kind == "plain":
                img, words = photo_background(sub, *photo_size, noise=int(sub.integers(4, 20))), ()
            elif fashion is None:
                continue
            elif kind == "fashion-sign":
                img, words = fashion_sign(sub, fashion[int(rng.integers(len(fashion)))])
            else:  # fashion-plain
                side = int(sub.choice([448, 672, 896]))
                img = Image.fromarray(fashion[int(rng.integers(len(fashion)))], "L").resize(
                    (side, side), Image.Resampling.BICUBIC).convert("RGB")
                words = ()
            out.append(TextImage(name, kind, img, tuple(words)))
    return out
