"""Start-up overlap: the model loads in the background while files decode; its geometry comes from its config."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from fakes import FakeEmbedder
from photosense import Library
from photosense.core import indexer as indexer_module
from photosense.core import video
from photosense.core.embedder import Embedder
from photosense.core.errors import ModelUnavailable
from photosense.core.models import ModelSpec, geometry, parse_spec, register_embedder, unregister_embedder
from videos import pattern, write_clip


def test_the_input_size_and_width_come_from_the_config_without_loading(tmp_path):
    bundled = Embedder(parse_spec("tiny-fashion"), tmp_path)
    assert (bundled.image_size, bundled.dim) == (32, 128) and not bundled.loaded
    assert geometry(ModelSpec("ViT-L-14-336:none", "random", arch="ViT-L-14-336")) == (336, 768)
    assert geometry(ModelSpec("ViT-B-32:none", "random", arch="ViT-B-32")) == (224, 512)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "open_clip_config.json").write_text(json.dumps({"model_cfg": {"embed_dim": 64}}))
    assert geometry(ModelSpec(f"local-dir:{odd}", "dir", path=odd)) is None  # only the model knows


def test_naming_an_architecture_does_not_import_open_clip():
    code = ("import sys; from photosense.core.models import parse_spec; from photosense.core.embedder import Embedder;"
            "from pathlib import Path; e = Embedder(parse_spec('ViT-B-32:none'), Path('.'));"
            "print(e.image_size, e.dim, e.preferred_batch_size, 'open_clip' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["224", "512", "32", "False", "False"]
    with pytest.raises(Exception, match="not an open_clip architecture"):
        parse_spec("ViT-Q-99:none")


@pytest.mark.model
def test_a_background_load_that_fails_is_raised_where_the_model_is_needed(tmp_path):
    embedder = Embedder(parse_spec(f"ViT-B-32:{tmp_path / 'missing.safetensors'}"), tmp_path)
    embedder.start_loading()
    embedder.start_loading()  # once
    assert embedder.image_size == 224  # from the config, while the load runs (and fails)
    with pytest.raises(ModelUnavailable, match="does not exist"):
        embedder.encode_texts(["a coat"])
    assert not embedder.loading and not embedder.loaded


class SlowToLoad(FakeEmbedder):
    """A fake whose model 'loads' until ``ready`` is set: encoding waits for it."""

    ready = threading.Event()
    started = threading.Event()

    @property
    def loading(self) -> bool:
        return self.started.is_set() and not self.ready.is_set()

    def start_loading(self) -> None:
        self.started.set()

    def encode_images(self, batch):
        assert self.ready.wait(60), "the test never finished the load"
        return super().encode_images(batch)


def test_videos_decode_while_the_model_loads_largest_first(tmp_path, monkeypatch):
    folder = tmp_path / "clips"
    for k, seconds in enumerate((2.0, 6.0, 4.0, 3.0, 5.0)):
        write_clip(folder / f"clip{k}.mp4", [(pattern(k), seconds)], fps=10, size=(64, 48))
    decoded: list[str] = []
    sample = video.sample_frames

    def counted(path, **kwargs):
        result = sample(path, **kwargs)
        decoded.append(Path(path).name)
        return result

    monkeypatch.setattr(video, "sample_frames", counted)
    SlowToLoad.ready.clear()
    SlowToLoad.started.clear()
    register_embedder("fake-slow-load", SlowToLoad)
    try:
        with Library.open(tmp_path / "library", model="fake-slow-load") as lib:
            result = {}
            run = threading.Thread(target=lambda: result.update(summary=lib.index([folder], workers=1)))
            run.start()
            try:
                deadline = threading.Event()
                for _ in range(600):  # every clip decodes though nothing can be encoded yet
                    if len(decoded) == 5:
                        break
                    deadline.wait(0.05)
                assert len(decoded) == 5 and SlowToLoad.started.is_set()
                assert decoded[:2] == ["clip1.mp4", "clip4.mp4"]  # the longest first
            finally:
                SlowToLoad.ready.set()
                run.join(60)
            assert result["summary"].indexed == 5
    finally:
        unregister_embedder("fake-slow-load")


class SlowToLoadPhotos(SlowToLoad):
    """As SlowToLoad, and its transform is the loaded model's too: preprocessing waits for the load.
    Counts the decode threads that had to wait for it (the encoding thread waits for the model anyway)."""

    preprocessed_while_loading = 0

    def preprocess(self, image):
        if self.loading and threading.current_thread().name.startswith("photosense-decode"):
            type(self).preprocessed_while_loading += 1
            assert self.ready.wait(60), "the test never finished the load"
        return super().preprocess(image)


def test_photos_decode_while_the_model_loads_and_are_resized_when_encoded(tmp_path):
    from helpers import gradient, save

    folder = tmp_path / "photos"
    for k in range(8):
        save(gradient(seed=k), folder / f"p{k}.jpg")
    SlowToLoadPhotos.ready.clear()
    SlowToLoadPhotos.started.clear()
    SlowToLoadPhotos.preprocessed_while_loading = 0
    register_embedder("fake-slow-photos", SlowToLoadPhotos)
    try:
        with Library.open(tmp_path / "library", model="fake-slow-photos") as lib:
            result = {}
            decoded = []
            real_open = indexer_module.open_image

            def counted(path, **kwargs):
                out = real_open(path, **kwargs)
                decoded.append(Path(path).name)
                return out

            indexer_module.open_image = counted
            run = threading.Thread(target=lambda: result.update(summary=lib.index([folder], workers=2)))
            run.start()
            try:
                for _ in range(600):  # up to the read-ahead, photos decode though nothing is encoded yet
                    if len(decoded) == 8:
                        break
                    threading.Event().wait(0.05)
                assert len(decoded) == 8 and SlowToLoadPhotos.started.is_set()
            finally:
                SlowToLoadPhotos.ready.set()
                run.join(60)
                indexer_module.open_image = real_open
            assert result["summary"].indexed == 8 and SlowToLoadPhotos.preprocessed_while_loading == 0
            assert len(lib.search("a photo", show_all=True, limit=20, stack=False)) == 8
    finally:
        unregister_embedder("fake-slow-photos")


@pytest.mark.model
@pytest.mark.parametrize("spec", ["tiny-fashion", "tiny-fashion-wide", "ViT-B-32:none"])
def test_photos_resized_while_the_model_loads_are_exactly_what_the_models_own_steps_make(tmp_path, spec):
    from PIL import Image

    from photosense.core import preprocess
    from photosense.core.embedder import _Provisional

    embedder = Embedder(parse_spec(spec), tmp_path)
    rng = np.random.default_rng(3)
    for w, h in ((500, 375), (375, 500), (640, 427), (embedder.image_size, embedder.image_size), (97, 61)):
        image = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        size = embedder.image_size
        early = _Provisional(image, preprocess.standard(size)(image), size)  # as made while it loads
        assert np.array_equal(embedder.settle(early), embedder.preprocess(image))
        assert embedder.settle(early) is early.standard  # not resized a second time
        other = _Provisional(image, preprocess.standard(size + 8)(image), size + 8)  # a config that was wrong
        assert np.array_equal(embedder.settle(other), embedder.preprocess(image))
    assert embedder._standard_holds()


@pytest.mark.model
def test_provisional_inputs_are_resized_again_when_the_model_steps_differ(tmp_path):
    from PIL import Image

    from photosense.core import preprocess
    from photosense.core.embedder import _Provisional

    embedder = Embedder(parse_spec("tiny-fashion"), tmp_path)
    embedder._standard = False  # as for a model whose transform squashes or uses another filter
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (60, 80, 3), dtype=np.uint8))
    early = _Provisional(image, preprocess.standard(embedder.image_size)(image) + 1, embedder.image_size)
    assert np.array_equal(embedder.settle(early), embedder.preprocess(image))


@pytest.mark.model
def test_random_weights_are_the_same_in_every_process_and_leave_the_callers_rng_alone(tmp_path):
    import torch

    from photosense.core.models import build

    spec = parse_spec("ViT-S-32:none" if geometry(ModelSpec("ViT-S-32:none", "random", arch="ViT-S-32"))
                      else "ViT-B-32:none")
    torch.manual_seed(7)
    first = build(spec, tmp_path).model.state_dict()
    after = torch.rand(3)
    torch.manual_seed(123)
    second = build(spec, tmp_path).model.state_dict()
    torch.manual_seed(7)
    assert torch.equal(torch.rand(3), after)  # the build drew nothing from the caller's generator
    assert all(torch.equal(first[k], second[k]) for k in first)


@pytest.mark.model
def test_a_cached_image_tower_indexes_without_open_clip_and_gives_the_models_own_vectors(tmp_path):
    """The first load traces the image tower and caches it; a fresh process (here: a fresh embedder on
    the same cache) encodes photos with it, identically, and loads the model only for text."""
    from PIL import Image

    from photosense.core import image_tower

    model_dir = tmp_path / "tiny"  # a copy, so the test can change its weights file
    import shutil

    from photosense.core.models import bundled_models

    shutil.copytree(bundled_models()["tiny-fashion"], model_dir)
    spec = parse_spec(str(model_dir))
    cache = tmp_path / "cache"
    rng = np.random.default_rng(5)
    images = [Image.fromarray(rng.integers(0, 256, (60 + 7 * k, 80, 3), dtype=np.uint8)) for k in range(5)]

    first = Embedder(spec, cache, device="cpu")
    expected = first.encode_images(first.collate([first.preprocess(im) for im in images]))
    first._caching.join(60)
    assert image_tower.valid(cache, spec, first.device, first.precision)

    second = Embedder(spec, cache, device="cpu")
    second.start_loading()
    got = second.encode_images(second.collate([second.preprocess(im) for im in images]))
    assert second._tower is not None and not second.loaded  # no model was built
    assert np.allclose(got, expected, atol=1e-6)
    assert np.allclose(second.encode_texts(["a bag"]), first.encode_texts(["a bag"]), atol=1e-6)
    assert second.loaded  # text needs the model

    weights = next(p for p in model_dir.iterdir() if p.suffix == ".safetensors")
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # new weights
    assert not image_tower.valid(cache, spec, "cpu", first.precision)
    third = Embedder(spec, cache, device="cpu")
    third.start_loading()
    third.encode_images(third.collate([third.preprocess(images[0])]))
    assert third._tower is None and third.loaded


@pytest.mark.model
def test_an_image_tower_whose_trace_differs_from_the_model_is_not_cached(tmp_path, monkeypatch):
    from photosense.core import image_tower

    monkeypatch.setattr(image_tower, "MATCH", 1.5)  # no trace can agree this well
    embedder = Embedder(parse_spec("tiny-fashion"), tmp_path, device="cpu")
    embedder.encode_texts(["a bag"])
    assert embedder._caching is None  # text alone never traces the image tower
    image = np.zeros((40, 40, 3), np.uint8)
    from PIL import Image

    embedder.encode_images(embedder.collate([embedder.preprocess(Image.fromarray(image))]))
    embedder._caching.join(60)
    assert not image_tower.valid(tmp_path, embedder.spec, "cpu", embedder.precision)
    assert not list((tmp_path / "image-towers").glob("*.pt"))  # no trace; only the note not to try again
    assert image_tower.known(tmp_path, embedder.spec, "cpu", embedder.precision)
    again = Embedder(parse_spec("tiny-fashion"), tmp_path, device="cpu")
    again.encode_images(again.collate([again.preprocess(Image.fromarray(image))]))
    assert again._caching is None and again.loaded


@pytest.mark.model
def test_a_damaged_or_mismatched_image_tower_falls_back_to_the_model_and_is_remade(tmp_path):
    from PIL import Image

    from photosense.core import image_tower

    spec = parse_spec("tiny-fashion")
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (40, 50, 3), dtype=np.uint8))
    first = Embedder(spec, tmp_path, device="cpu")
    expected = first.encode_images(first.collate([first.preprocess(image)]))
    first._caching.join(60)
    trace = next((tmp_path / "image-towers").glob("*.pt"))
    trace.write_bytes(b"damaged")
    second = Embedder(spec, tmp_path, device="cpu")
    second.start_loading()
    got = second.encode_images(second.collate([second.preprocess(image)]))
    assert second.loaded and second._tower is None and np.allclose(got, expected, atol=1e-6)
    second._caching.join(60)  # forgotten, then made again by this full load
    assert image_tower.valid(tmp_path, spec, "cpu", second.precision)

    class Failing:
        def __call__(self, _x):
            raise RuntimeError("device-side assert")

    third = Embedder(spec, tmp_path, device="cpu")
    third.start_loading()
    third._await_loader()
    assert third._tower is not None
    third._tower = image_tower.Tower(Failing(), third._tower.image_size, third._tower.dim, third._tower.mean,
                                     third._tower.std)
    got = third.encode_images(third.collate([third.preprocess(image)]))
    assert third.loaded and np.allclose(got, expected, atol=1e-6)  # the model took over
