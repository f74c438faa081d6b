"""The wide training vocabulary of ``tiny-fashion-wide``: nouns (singular and plural), templates and shade words.

Written for training only, independently of the held-out test queries in tests/data/ (which must
stay unseen words and combinations as far as a test set can). Every class gets the singular and
plural of each word people use for it, the dataset's own class name, and templates for a single
item, for plurals, and for pairs (shoes, trousers). Shade words come from the pixels: an item's
mean brightness (over its own pixels, not the black background) in the darkest or lightest third
of the train split makes it "dark" or "light" (with a few synonyms).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

# (singular, plural) per class, in Fashion-MNIST label order. None: the form does not exist.
NOUNS: tuple[tuple[tuple[str | None, str | None], ...], ...] = (
    (("t-shirt", "t-shirts"), ("tshirt", "tshirts"), ("tee", "tees"), ("tee shirt", "tee shirts"),
     ("top", "tops"), ("t-shirt or top", None), ("tank top", "tank tops")),
    (("trouser", "trousers"), (None, "pants"), (None, "jeans"), (None, "slacks"), (None, "leggings"),
     ("pair of trousers", "pairs of trousers"), ("pair of jeans", "pairs of jeans")),
    (("pullover", "pullovers"), ("sweater", "sweaters"), ("jumper", "jumpers"), ("hoodie", "hoodies"),
     ("sweatshirt", "sweatshirts"), ("knit sweater", "knit sweaters"), ("cardigan", "cardigans")),
    (("dress", "dresses"), ("summer dress", "summer dresses"), ("gown", "gowns"),
     ("evening dress", "evening dresses"), ("long dress", "long dresses")),
    (("coat", "coats"), ("jacket", "jackets"), ("overcoat", "overcoats"), ("parka", "parkas"),
     ("raincoat", "raincoats"), ("anorak", "anoraks")),
    (("sandal", "sandals"), ("summer sandal", "summer sandals"), ("strappy sandal", "strappy sandals"),
     ("flip-flop", "flip-flops"), ("heeled sandal", "heeled sandals")),
    (("shirt", "shirts"), ("button-down shirt", "button-down shirts"), ("blouse", "blouses"),
     ("collared shirt", "collared shirts"), ("flannel shirt", "flannel shirts"),
     ("long-sleeved shirt", "long-sleeved shirts")),
    (("sneaker", "sneakers"), ("trainer", "trainers"), ("running shoe", "running shoes"),
     ("sports shoe", "sports shoes"), ("athletic shoe", "athletic shoes"), ("canvas shoe", "canvas shoes")),
    (("bag", "bags"), ("handbag", "handbags"), ("purse", "purses"), ("tote bag", "tote bags"),
     ("shoulder bag", "shoulder bags"), ("clutch", "clutches")),
    (("ankle boot", "ankle boots"), ("boot", "boots"), ("short boot", "short boots"),
     ("chelsea boot", "chelsea boots"), ("bootie", "booties")),
)

# The dataset's own class names (as its documentation writes them).
DATASET_NAMES: tuple[str, ...] = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                                  "Sneaker", "Bag", "Ankle boot")

# Classes that come in pairs: "a pair of sneakers".
PAIRED = frozenset({1, 5, 7, 9})

SINGULAR_TEMPLATES: tuple[str, ...] = (
    "{}", "a {}", "a {}.", "the {}", "photo of a {}", "a photo of a {}.", "a photo of the {}.",
    "a picture of a {}.", "an image of a {}.", "a close-up photo of a {}.", "a good photo of a {}.",
    "a black and white photo of a {}.", "a low resolution photo of a {}.", "a product photo of a {}.",
    "a photo of my {}.", "a {} on a plain background.", "this is a {}.",
)
PLURAL_TEMPLATES: tuple[str, ...] = (
    "{}", "{}.", "the {}", "photo of {}", "a photo of {}.", "a picture of {}.", "an image of {}.",
    "photos of {}", "pictures of {}", "my {}", "some {}", "a product photo of {}.",
    "a black and white photo of {}.", "{} on a plain background.",
)
PAIR_TEMPLATES: tuple[str, ...] = ("a pair of {}", "a photo of a pair of {}.", "pair of {}")

# Shade words, chosen by the item's brightness (see shades()).
SHADE_WORDS: dict[str, tuple[str, ...]] = {"dark": ("dark", "black", "dark grey"),
                                           "light": ("light", "white", "pale", "light grey")}
SHADE_TEMPLATES: tuple[str, ...] = ("a {}", "a photo of a {}.", "a picture of a {}.", "{}", "photo of {}")


def fix_articles(text: str) -> str:
    """"a ankle boot" -> "an ankle boot"."""
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", lambda m: m.group(1) + "n ", text)


def plain_captions(label: int) -> list[str]:
    """Every unshaded caption of a class: nouns x templates, the dataset name, pairs."""
    out: list[str] = []
    for singular, plural in NOUNS[label]:
        if singular:
            out += [t.format(singular) for t in SINGULAR_TEMPLATES]
        if plural:
            out += [t.format(plural) for t in PLURAL_TEMPLATES]
            if label in PAIRED and not plural.startswith("pair"):
                out += [t.format(plural) for t in PAIR_TEMPLATES]
    name = DATASET_NAMES[label]
    out += [t.format(name) for t in ("{}", "a {}", "a photo of a {}.", "{} (fashion-mnist)")]
    return [fix_articles(c) for c in out]


def shade_captions(label: int, shade: str) -> list[str]:
    """Captions with a shade word before each noun ("a dark coat", "light sneakers")."""
    out: list[str] = []
    for word in SHADE_WORDS[shade]:
        for singular, plural in NOUNS[label]:
            if singular and not singular.startswith("pair"):
                out += [t.format(f"{word} {singular}") for t in SHADE_TEMPLATES if t != "{}"]
            if plural and not plural.startswith("pair"):
                out += [f"{word} {plural}", f"photo of {word} {plural}"]
    return [fix_articles(c) for c in out]


def shades(images_u8: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Per image: 0 = no shade word, 1 = dark, 2 = light, by the mean of the item's own pixels
    (> 20 of 255) against the terciles of *reference* (default: the same images)."""
    def item_means(images: np.ndarray) -> np.ndarray:
        x = images.reshape(len(images), -1).astype(np.float32)
        mask = x > 20
        return (x * mask).sum(1) / np.maximum(mask.sum(1), 1)

    means = item_means(images_u8)
    ref = means if reference is None else item_means(reference)
    low, high = np.quantile(ref, [1 / 3, 2 / 3])
    return np.where(means <= low, 1, np.where(means >= high, 2, 0)).astype(np.int64)


# Captions that match no photo: frequent caption words that describe none of these images
# (tools/negative_words.txt, made by tools/make_negative_words.py), alone or in two-word phrases.
# Trained as extra texts no image may pick, they teach the text tower what a real CLIP knows from
# its web captions: most words name something else, so they belong nowhere near the ten classes.
NEGATIVE_TEMPLATES: tuple[str, ...] = (
    "{}", "a {}", "the {}", "a photo of a {}.", "a picture of the {}.", "{}s", "photo of {}", "my {}",
)
NEGATIVE_PAIRS: tuple[str, ...] = ("{} {}", "a {} {}", "{} in the {}", "a {} on a {}", "a {} with a {}",
                                   "a photo of a {} {}.", "{} and {}")


def negative_words() -> list[str]:
    """The words of tools/negative_words.txt, most frequent first."""
    path = Path(__file__).with_name("negative_words.txt")
    return [w for w in path.read_text().splitlines() if w and not w.startswith("#")]


def negative_captions(count: int, seed: int) -> list[str]:
    """*count* distinct captions of negative words: half one word in a template, half two words."""
    rng = np.random.default_rng(seed)
    words = negative_words()
    out: set[str] = set()
    while len(out) < count:
        if rng.random() < 0.5:
            text = NEGATIVE_TEMPLATES[rng.integers(len(NEGATIVE_TEMPLATES))].format(words[rng.integers(len(words))])
        else:
            first, second = (words[i] for i in rng.integers(len(words), size=2))
            text = NEGATIVE_PAIRS[rng.integers(len(NEGATIVE_PAIRS))].format(first, second)
        out.add(fix_articles(text))
    return sorted(out)
