"""The real bundled model (tiny-fashion: torch + open_clip) behind the Library: it loads lazily and once,
its precision and text fast path are faithful, a load failure is a clear fatal error, and it sees
what Fashion-MNIST taught it. The same logic on the fake embedder is in test_library.py."""
from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest

from fashion_mnist import CLASS_NAMES
from helpers import TINY_MODEL, fashion_images, gradient, save
from photosense import Library
from photosense.core.errors import ModelUnavailable

pytestmark = pytest.mark.model


@pytest.fixture
def fashion_folder(photos_dir):
    """40 Fashion-MNIST photos (4 per class) as JPEG/PNG files; returns {path: label}."""
    labels = {}
    for n, (img, label) in enumerate(fashion_images(40, seed=3)):
        path = save(img, photos_dir / f"f{n:02d}.{'jpg' if n % 2 else 'png'}")
        labels[str(path)] = label
    return labels


def test_rerun_does_not_even_load_the_model(library_dir, photos_dir):
    save(gradient(), photos_dir / "a.jpg")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
        assert lib.embedder.images_ready  # the model, or its image tower cached by an earlier test
    with Library.open(library_dir) as lib:  # the library remembers its model
        summary = lib.index([photos_dir])
        assert summary.indexed == 0 and summary.skipped == 1
        assert lib.model_spec == TINY_MODEL and not lib.embedder.images_ready


def test_search_ranks_the_named_class_first(tiny_library, photos_dir, fashion_folder):
    tiny_library.index([photos_dir])
    hits = tiny_library.search("ankle boot", limit=4)
    assert len(hits) == 4
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(os.path.isabs(h.path) for h in hits)
    assert sum(fashion_folder[h.path] == CLASS_NAMES.index("ankle boot") for h in hits) >= 3


def test_similar_finds_the_same_class_and_the_copy_of_an_outside_image(tiny_library, photos_dir, fashion_folder,
                                                                        tmp_path):
    tiny_library.index([photos_dir])
    query = next(p for p, label in fashion_folder.items() if label == CLASS_NAMES.index("trousers"))
    hits = tiny_library.similar(query, limit=3)
    assert query not in [h.path for h in hits]
    assert sum(fashion_folder[h.path] == CLASS_NAMES.index("trousers") for h in hits) >= 2
    outside = tmp_path / "outside.jpg"
    shutil.copy(query, outside)
    outside_hits = tiny_library.similar(outside, limit=3)
    assert outside_hits[0].path == query and outside_hits[0].score > 0.99


def test_model_loads_once_under_a_lock(tmp_path, monkeypatch):
    from photosense.core import embedder as embedder_module

    calls = []
    real_build = embedder_module.build

    def counting_build(*args, **kwargs):
        calls.append(1)
        return real_build(*args, **kwargs)

    monkeypatch.setattr(embedder_module, "build", counting_build)
    emb = embedder_module.Embedder(TINY_MODEL, tmp_path)
    assert not emb.loaded
    threads = [threading.Thread(target=emb.load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and emb.loaded


def test_bf16_on_cpu_keeps_embeddings_close_to_fp32(tmp_path):
    from photosense.core.embedder import Embedder

    images = [img for img, _ in fashion_images(20, seed=7)] + [gradient(seed=s) for s in range(4)]
    out = {}
    for precision in ("fp32", "bf16"):
        emb = Embedder(TINY_MODEL, tmp_path, device="cpu", precision=precision)
        out[precision] = emb.encode_images(emb.collate([emb.preprocess(i) for i in images]))
    cosines = (out["fp32"] * out["bf16"]).sum(axis=1)
    assert cosines.min() >= 0.99


def test_trimmed_text_encoding_matches_the_full_context(tmp_path):
    import torch

    from photosense.core.embedder import Embedder

    emb = Embedder(TINY_MODEL, tmp_path, device="cpu", precision="fp32")  # exact comparison: no bf16
    loaded = emb.load()
    assert emb._encode_text is None  # chosen on first use: indexing never needs it
    texts = ["a photo of a sneaker.", "bag", "a grayscale picture of the ankle boot on a plain background."]
    emb.encode_texts(["x"])
    assert emb._encode_text is not loaded.model.encode_text  # the fast path is in use
    with torch.inference_mode():
        full = loaded.model.encode_text(loaded.tokenizer(texts)).float()
    full = (full / full.norm(dim=-1, keepdim=True)).numpy()
    assert np.allclose(emb.encode_texts(texts), full, atol=1e-5)


def test_prompts_packed_in_a_prefix_tree_encode_each_prefix_once_and_match_the_full_context(tmp_path, monkeypatch):
    import torch

    from photosense.core import text_encoding
    from photosense.core.calibration import NULL_WORDS
    from photosense.core.embedder import Embedder
    from photosense.core.prompts import query_prompts

    emb = Embedder(TINY_MODEL, tmp_path, device="cpu", precision="fp32")
    loaded = emb.load()
    # a query's null phrases (3 templates x 24 words), a long prompt, unrelated short ones, a duplicate
    texts = [q for w in NULL_WORDS for q in query_prompts("dark red " + w)]
    texts += ["a grayscale picture of the ankle boot on a plain background.", "bag", "sunset", "bag"]
    tokens = loaded.tokenizer(texts)
    ends = (tokens.argmax(dim=-1) + 1).tolist()
    rows = [r[:n] for r, n in zip(tokens.tolist(), ends)]
    trees = text_encoding.packed_trees(rows)
    assert sorted(i for _, members in trees for i in members) == list(range(len(texts)))
    (tree, members), = trees  # 79 short prompts fit one packed pass
    for row, end in zip(members, tree.ends):  # each prompt ends at a node whose ancestry spells it
        path = [end]
        while tree.parents[path[-1]] >= 0:
            path.append(tree.parents[path[-1]])
        assert [tree.tokens[i] for i in reversed(path)] == rows[row]
        assert [tree.depths[i] for i in reversed(path)] == list(range(len(rows[row])))
        assert (tree.ancestry()[end] == np.isin(np.arange(len(tree)), path)).all()
    # <start> a photo of dark red | thing . <end>: each template's prefix once, not 24 times
    assert len(tree) < 0.4 * sum(map(len, rows))
    assert tree.ends[members.index(len(texts) - 1)] == tree.ends[members.index(len(texts) - 3)]  # "bag" twice
    small = text_encoding.packed_trees(rows, limit=40)
    assert len(small) > 1 and all(len(t) <= 40 for t, _ in small)
    assert sorted(i for _, members in small for i in members) == list(range(len(texts)))
    shared = text_encoding.shared_prefix_encoder(loaded.model)
    with torch.inference_mode():
        full = loaded.model.encode_text(tokens).float()
        fast = shared(tokens).float()
        monkeypatch.setattr(text_encoding, "MAX_PACKED", 40)  # several passes
        passes = text_encoding.shared_prefix_encoder(loaded.model)(tokens).float()
    assert torch.nn.functional.cosine_similarity(full, fast, dim=-1).min().item() > 0.99999
    assert torch.nn.functional.cosine_similarity(full, passes, dim=-1).min().item() > 0.99999
    emb.encode_texts(["x"])
    assert emb._encode_text.__qualname__.startswith("shared_prefix_encoder")  # what the embedder uses


def test_a_model_that_fails_to_load_stops_the_run_and_costs_no_photo(library_dir, photos_dir, monkeypatch):
    """Moving the model to the device can fail (CUDA out of memory) after the library knows the model:
    that is fatal for the run (ModelUnavailable with advice), and the pending photos must not be
    recorded as broken files (a failed photo leaves the photos table, and its tags and albums with it)."""
    a = save(gradient(seed=1), photos_dir / "a.jpg")
    with Library.open(library_dir, model=TINY_MODEL) as lib:
        lib.index([photos_dir])
        lib.tags.accept("favourite", [a])
        lib.albums.create("best", manual=True)
        lib.albums.pin("best", [a])
    save(gradient(seed=7, width=80), a)  # edited: pending again
    save(gradient(seed=2), photos_dir / "b.jpg")

    import torch

    move = torch.nn.Module.to

    def out_of_memory(module, *args, **kwargs):
        if "dtype" in kwargs:  # the embedder's move to its device and precision, after open_clip built it
            raise RuntimeError("CUDA error: out of memory")
        return move(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.Module, "to", out_of_memory)
    monkeypatch.setattr("photosense.core.image_tower.load", lambda *_a: None)  # the model itself loads
    with Library.open(library_dir) as lib:
        with pytest.raises(ModelUnavailable, match="out of memory.*--device cpu"):
            lib.index()
        assert lib.failures() == [] and lib.status()["pending"] == 2
    monkeypatch.undo()
    with Library.open(library_dir) as lib:
        assert lib.index().indexed == 2
        assert [t.label for t in lib.tags.of(a)] == ["favourite"] and lib.albums.of(a) == ["best"]


def test_the_word_cached_tokenizer_gives_the_models_own_tokens(tmp_path):
    from photosense.core import text_encoding
    from photosense.core.embedder import Embedder

    loaded = Embedder(TINY_MODEL, tmp_path, device="cpu").load()
    fast = text_encoding.word_cached_tokenizer(loaded.tokenizer)
    assert fast is not None and text_encoding.verified_tokenizer(loaded) is not loaded.tokenizer
    texts = ["a photo of dark red thing.", "IMG_2041 invoice 4471", "It's  my DOG's\ttoy!", "café crème",
             "<b> caf&Atilde;&copy;", "a < b &amp;amp;amp;", "word " * 100, "", "x"]
    for text in texts * 2:  # the second time from the remembered words
        assert (fast([text]) == loaded.tokenizer([text])).all(), text
    assert (fast(texts) == loaded.tokenizer(texts)).all()
