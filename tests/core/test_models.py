"""Model specs, local weights, random weights, and the offline download error."""
from __future__ import annotations

import time

import numpy as np
import pytest

from helpers import TINY_MODEL, gradient, save
from photosense.core.errors import ModelSpecError, ModelUnavailable
from photosense.core.models import DEFAULT_MODEL, bundled_models, fetch_pretrained, parse_spec


# Specs that name an open_clip architecture import open_clip (and torch) to check it: marked `model`.

@pytest.mark.model
def test_default_and_pretrained_tags_parse():
    spec = parse_spec(DEFAULT_MODEL)
    assert (spec.kind, spec.arch, spec.tag, spec.text) == ("pretrained", "ViT-B-32", "laion2b_s34b_b79k",
                                                          DEFAULT_MODEL)


def test_bundled_model_is_a_plain_open_clip_folder():
    assert TINY_MODEL in bundled_models()
    folder = bundled_models()[TINY_MODEL]
    assert (folder / "open_clip_config.json").is_file()
    weights = folder / "open_clip_model.safetensors"
    assert weights.is_file() and weights.stat().st_size <= 10 * 1024 * 1024
    spec = parse_spec(TINY_MODEL)
    assert spec.kind == "dir" and spec.text == TINY_MODEL


@pytest.mark.model
def test_random_and_file_specs(tmp_path):
    assert parse_spec("ViT-B-32:none").kind == "random"
    spec = parse_spec(f"ViT-B-32:{tmp_path}/w.safetensors")
    assert spec.kind == "file" and spec.path == tmp_path / "w.safetensors"
    assert parse_spec("ViT-B-32:~/w.pt").path.is_absolute()


@pytest.mark.parametrize("text,message", [
    ("", "empty model spec"),
    ("ViT-B-32", "names no weights"),
    pytest.param("ViT-B-99:none", "not an open_clip architecture", marks=pytest.mark.model),
    pytest.param("ViT-B-32:no_such_tag", "not a pretrained tag", marks=pytest.mark.model),
    pytest.param("ViT-B-32:/tmp/weights.txt", "should end in", marks=pytest.mark.model),
    ("local-dir:/nonexistent", "has no open_clip_config.json"),
])
def test_bad_specs_explain_themselves(text, message):
    with pytest.raises(ModelSpecError, match=message):
        parse_spec(text)


@pytest.mark.model
def test_local_weights_load_safely_in_both_formats(tmp_path):
    """ARCH:/path loads safetensors and torch files (weights_only) and gives the same model."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    from photosense.core.embedder import Embedder

    reference = open_clip.create_model("ViT-S-32-alt").eval()
    state = {k: v.contiguous() for k, v in reference.state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save(state, tmp_path / "w.pt")
    image = save(gradient(300, 200), tmp_path / "x.jpg")
    vectors = []
    for name in ("w.safetensors", "w.pt"):
        emb = Embedder(f"ViT-S-32-alt:{tmp_path / name}", tmp_path / "cache", device="cpu", precision="fp32")
        from photosense.core.media import open_image

        vectors.append(emb.encode_images(emb.collate([emb.preprocess(open_image(image).image)]))[0])
    assert np.allclose(vectors[0], vectors[1], atol=1e-5)
    with torch.inference_mode():
        expected = reference.encode_image(emb.load().preprocess(open_image(image).image)[None])  # the transform
    expected = (expected / expected.norm(dim=-1, keepdim=True))[0].numpy()
    assert np.allclose(vectors[0], expected, atol=1e-4)


@pytest.mark.model
def test_missing_weights_file_is_a_clear_error(tmp_path):
    from photosense.core.embedder import Embedder

    with pytest.raises(ModelUnavailable, match="does not exist"):
        Embedder(f"ViT-S-32-alt:{tmp_path}/nope.safetensors", tmp_path).load()


@pytest.mark.model
def test_offline_download_fails_fast_with_advice(tmp_path):
    import open_clip

    spec = parse_spec(DEFAULT_MODEL)
    cfg = open_clip.get_pretrained_cfg(spec.arch, spec.tag)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as err:
        fetch_pretrained(spec, cfg, tmp_path)  # conftest points the hub at an unresolvable host
    assert time.monotonic() - started < 10
    text = str(err.value)
    assert "Could not download the model 'ViT-B-32:laion2b_s34b_b79k'" in text
    assert "ViT-B-32:/path/to/weights.safetensors" in text


@pytest.mark.model
def test_cli_offline_error_is_one_paragraph_without_traceback(tmp_path, photos_dir, cli):
    save(gradient(), photos_dir / "a.jpg")
    started = time.monotonic()
    result = cli("index", photos_dir, "--model", DEFAULT_MODEL, library=tmp_path / "lib")
    assert time.monotonic() - started < 60
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Could not download the model" in result.stderr and "--model" in result.stderr
    assert result.stdout == ""


@pytest.mark.model
def test_random_weights_print_a_warning(tmp_path, photos_dir, cli):
    save(gradient(), photos_dir / "a.jpg")
    result = cli("index", photos_dir, "--model", "ViT-S-32-alt:none", "--json", library=tmp_path / "lib")
    assert result.returncode == 0, result.stderr
    assert "random weights" in result.stderr and "benchmarks only" in result.stderr


@pytest.mark.model
def test_corrupt_weights_are_a_clear_error_not_a_traceback(tmp_path):
    """A damaged weights file (an interrupted copy, say) raises ModelUnavailable naming the model."""
    import shutil

    from photosense.core.models import build

    folder = tmp_path / "broken-model"
    folder.mkdir()
    shutil.copy(bundled_models()[TINY_MODEL] / "open_clip_config.json", folder)
    (folder / "open_clip_model.safetensors").write_bytes(b"\x00garbage, not safetensors" * 40)
    spec = parse_spec(f"local-dir:{folder}")
    with pytest.raises(ModelUnavailable, match="Could not load the model"):
        build(spec, tmp_path / "cache")


@pytest.mark.model
@pytest.mark.parametrize("spec", [TINY_MODEL, "ViT-S-32-alt:none"])
def test_split_preprocessing_gives_the_transforms_embeddings(tmp_path, spec):
    """uint8 from the decode threads + one batched normalize == open_clip's per-image transform."""
    import torch

    from helpers import fashion_images
    from photosense.core.embedder import Embedder

    emb = Embedder(spec, tmp_path, device="cpu", precision="fp32")
    images = [img for img, _ in fashion_images(6, seed=2)] + [gradient(300, 200, seed=1), gradient(64, 200, seed=2),
                                                              gradient(40, 30, seed=3).convert("L")]
    inputs = [emb.preprocess(i) for i in images]
    assert all(x.dtype == np.uint8 and x.shape == (emb.image_size, emb.image_size, 3) for x in inputs)
    split = emb.encode_images(emb.collate(inputs))
    whole = emb.encode_images(torch.stack([emb.load().preprocess(i.convert("RGB")) for i in images]))
    assert np.abs(split - whole).max() < 1e-5
