#!/usr/bin/env python3
"""Write tools/negative_words.txt: frequent caption words that describe no Fashion-MNIST photo.

    .venv/bin/python tools/make_negative_words.py --dictionary /usr/share/dict/american-english

The words, in order of frequency in CLIP's own training captions (the order of open_clip's BPE
merges that make a whole word), that are also lower-case words of an English dictionary (Debian
``wamerican``; it drops word pieces such as "ting"). Left out, each with its other endings (a word
that shares a beginning of 3 or more letters with one of them, neither going on more than 4 letters
past it: "run" for "running", "player" for "playing"; a few unrelated words go too, "cart" for "car"):
every word of the training captions; generic words true of any photo (the calibration's null
words, "photo", "image"); the calibration's contrast words, so that the model is not taught its
background; words of clothes, shoes, bags, prints, fabrics and shades (true of some photos, or
ambiguous); and every word of the evaluation queries (tests/data and tools/eval_calibration_dev.py),
so that those stay words the model never saw. Near-synonyms of them can remain ("puppy", "ocean"):
they are what a web-trained CLIP knows too. The list is committed, so training needs neither the
dictionary nor this script.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import caption_vocab as vocab  # noqa: E402
import eval_calibration_dev as dev_eval  # noqa: E402
from photosense.core import calibration  # noqa: E402

OUT = ROOT / "tools" / "negative_words.txt"
COUNT = 3000
# True of some Fashion-MNIST photo, or too close to call: clothes, shoes, bags, parts, fabrics,
# shades and colours (the photos are greyscale), shop and product words, people who wear them.
TRUTHFUL = set("""
clothing clothes cloth apparel garment outfit wear wearing worn fashion fashionable style stylish
shoe footwear heel sole lace strap sleeve collar pocket zip zipper button hood denim cotton wool
knit knitted leather fabric textile suede canvas silk linen nylon casual formal vintage classic
black white grey gray dark light pale bright red blue green yellow pink purple brown orange beige
navy colour color colors colours shade plain simple basic
product shop store sale buy new brand model collection look design designer outlet order
woman women man men mens womens lady ladies girl girls boy boys kid kids baby unisex
pair size small large big long short tall mini
skirt shorts vest tank polo tunic robe kimono suit blazer uniform jersey kit gear uniform
backpack suitcase luggage wallet tote satchel sack pouch case accessory accessories
sport sports athletic running runner training trainer walking hiking
summer winter spring autumn fall print printed graphic logo pattern fit wore dressed cap belt bra tie
bow stripe striped check checked plaid floral dot dots
""".split())
# Function words: they carry no object of their own, and queries put them around the nouns they do.
FUNCTION = set("""
the and for our this you with all are from one that your have was more will can just here but what
about not his has when how some they its their there other been only she these into had than them
why where much him may did were which also any every could while again each those our ours yours
theirs would should shall must might being between through during before after above below under
over off out down upon onto very too most less many such own same both either neither nor yet
then once who whom whose what whatever who else ever never always still even just only really
""".split())


def words_of(text: str) -> set[str]:
    """The lower-case words of *text*."""
    return set(re.findall(r"[a-z]+", text.lower()))


def related(word: str, other: str) -> bool:
    """The same word with another ending: they share a beginning of 3 or more letters, and neither goes
    on more than 4 letters past it ("run" and "running", "player" and "playing", "changes" and "changed")."""
    common = len(os.path.commonprefix([word, other]))
    return word == other or common >= 3 and len(word) - common <= 4 and len(other) - common <= 4


def excluded() -> set[str]:
    """Every word left out of the negatives (before their other endings are)."""
    captions = [c for label in range(len(vocab.NOUNS)) for c in vocab.plain_captions(label)]
    captions += [c for label in range(len(vocab.NOUNS)) for s in vocab.SHADE_WORDS
                 for c in vocab.shade_captions(label, s)]
    words = set().union(*(words_of(c) for c in captions))
    words |= set(calibration.NULL_WORDS) | words_of(" ".join(calibration.BACKGROUND_PROMPTS))
    words |= words_of(" ".join(calibration.CONTRAST_WORDS))
    words |= {"photo", "picture", "image", "pic", "photograph", "snapshot"} | TRUTHFUL | FUNCTION
    for path in sorted((ROOT / "tests" / "data").glob("*.toml")):
        tomllib.loads(path.read_text())  # a broken file fails here, not silently
        words |= words_of(path.read_text())
    dev = [q for queries in dev_eval.DEV_KNOWN.values() for q in queries] + list(dev_eval.DEV_UNKNOWN)
    return words | words_of(" ".join(dev))


def main() -> int:
    """Write the list."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dictionary", type=Path, default=Path("/usr/share/dict/american-english"))
    ap.add_argument("--count", type=int, default=COUNT)
    args = ap.parse_args()
    spec = importlib.util.find_spec("open_clip")  # its file only: importing it needs torch
    bpe = Path(spec.origin).with_name("bpe_simple_vocab_16e6.txt.gz")
    with gzip.open(bpe) as f:
        merges = f.read().decode("utf-8").split("\n")[1:]
    english = {w.strip() for w in args.dictionary.read_text().splitlines() if w.strip().isalpha() and w.strip().islower()}
    skip = excluded()
    out: list[str] = []
    for merge in merges:
        token = merge.replace(" ", "")
        if not token.endswith("</w>"):
            continue
        word = token[:-4]
        if len(word) >= 3 and word in english and word not in out and not any(related(word, w) for w in skip):
            out.append(word)
        if len(out) == args.count:
            break
    OUT.write_text("# Generated by tools/make_negative_words.py: words that describe no Fashion-MNIST photo.\n"
                   + "\n".join(out) + "\n")
    print(f"{len(out)} words -> {OUT} ({len(skip)} words left out with their other endings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
