"""Keyword fusion quality with the bundled tiny model on Fashion-MNIST (README reports these figures).

The library: 2,000 Fashion-MNIST test photos (200 per class) in 13 folders, 4 of them named after
cities; 30 % of the photos carry text (made-up words, 4-digit numbers and gate codes, drawn with a
fixed seed before anything was measured; no class name among them). The text is the ground truth, read
by the fake reader: this measures the keyword index and the fusion rule, not an OCR engine. Baseline
in the same run: the visual ranking alone (keyword fusion switched off).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import fashion_mnist as fm
from fakes import FakeReader
from helpers import TINY_MODEL
from photosense import Library

pytestmark = [pytest.mark.slow, pytest.mark.model, pytest.mark.quality]

CITIES = ("Lisbon", "Porto", "Kyoto", "Oslo")
_SYLLABLES = ("ka", "lo", "mi", "ren", "tu", "zor", "vel", "qui", "bra", "san", "dox", "pel", "ni", "gra")


def _texts(names: list[str], seed: int = 11) -> dict[str, str]:
    """File name -> its words, for 30 % of *names*: 2-4 made-up words, a number and sometimes a code."""
    rng = np.random.default_rng(seed)
    out = {}
    for name in names:
        if rng.random() >= 0.3:
            continue
        words = ["".join(rng.choice(_SYLLABLES, rng.integers(2, 4))) for _ in range(rng.integers(2, 5))]
        words.append(str(rng.integers(1000, 10000)))
        if rng.random() < 0.3:
            words.append(f"{chr(65 + rng.integers(0, 26))}{rng.integers(1, 60)}")
        rng.shuffle(words)
        out[name] = " ".join(words).title()
    return out


@pytest.fixture(scope="module")
def text_library(tmp_path_factory):
    if not fm.available():
        pytest.skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
    root = tmp_path_factory.mktemp("words")
    split = fm.load("test")
    photos = fm.write_library(root / "photos", split, fm.stratified_indices(split.labels, 200))
    for n, city in enumerate(CITIES):  # four of the class-blind folders are named after cities
        os.rename(root / "photos" / f"roll-{n:02d}", root / "photos" / city)
    photos = [fm.GeneratedPhoto(_moved(p.path, root / "photos"), p.label) for p in photos]
    texts = _texts([p.path.name for p in photos])
    lib = Library.open(root / "library", model=TINY_MODEL)
    lib.text.reader_factory = lambda: FakeReader(texts)
    # the fake reader's words are not in the pixels: the indexer's text check (which looks at pixels and
    # would call most of these plain photos text-free) must leave every photo to it
    lib.index([root / "photos"], check_text=False)
    assert lib.read_text().read == len(photos)
    yield lib, photos, texts
    lib.close()


def _moved(path: Path, photos: Path) -> Path:
    folder = path.parent.name
    if folder.startswith("roll-") and int(folder[5:]) < len(CITIES):
        return photos / CITIES[int(folder[5:])] / path.name
    return path


def test_keyword_fusion_finds_words_names_and_folders_and_keeps_visual_precision(text_library, monkeypatch):
    lib, photos, texts = text_library
    # one distinctive word or number of a photo's text ranks it first
    counts: dict[str, int] = {}
    for text in texts.values():
        for word in set(text.lower().split()):
            counts[word] = counts.get(word, 0) + 1
    rng = np.random.default_rng(5)
    word_firsts = []
    for name, text in sorted(texts.items()):
        unique = [w for w in text.lower().split() if counts[w] == 1]
        if unique:
            hits = lib.search(str(rng.choice(unique)), limit=5, stack=False)
            word_firsts.append(bool(hits) and Path(hits[0].path).name == name)
    # a file stem finds its photo first; a folder name finds its photos first
    sample = [photos[i] for i in rng.choice(len(photos), 300, replace=False)]
    stem_firsts = [bool(h) and h[0].path == str(p.path)
                   for p in sample for h in [lib.search(p.path.stem, limit=3, stack=False)]]
    folder_firsts = []
    for city in CITIES:
        members = {str(p.path) for p in photos if p.path.parent.name == city}
        hits = lib.search(city, limit=len(members), stack=False)
        folder_firsts += [h.path in members for h in hits] + [False] * (len(members) - len(hits))
    # visual class queries: precision@20 with the fusion, and without (the visual ranking alone)
    fused = np.mean(list(fm.search_precision(lib, photos, k=20).values()))
    monkeypatch.setattr(lib.search_service.keywords, "fuse", lambda q, visual, limit, allowed, judge: visual[:limit])
    visual = np.mean(list(fm.search_precision(lib, photos, k=20).values()))
    figures = {"word first": np.mean(word_firsts), "words tried": len(word_firsts),
               "file stem first": np.mean(stem_firsts), "folder name first": np.mean(folder_firsts),
               "precision@20 fused": fused, "precision@20 visual only (baseline)": visual}
    print("keyword fusion quality:", {k: round(float(v), 4) for k, v in figures.items()})
    assert np.mean(word_firsts) >= 0.90 and len(word_firsts) >= 300
    assert np.mean(stem_firsts) >= 0.95 and np.mean(folder_firsts) >= 0.95
    assert fused >= visual - 0.02
