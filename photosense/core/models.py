"""Model specs ("ViT-B-32:laion2b_s34b_b79k", "ARCH:/path", "ARCH:none", bundled names): parse, fetch, build."""
from __future__ import annotations

import difflib
import functools
import importlib.util
import json
import logging
import os
import socket
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

from photosense.core.assets import resource
from photosense.core.errors import ModelSpecError, ModelUnavailable
from photosense.core.torch_compat import ensure_torchvision_importable

log = logging.getLogger(__name__)

DEFAULT_MODEL = "ViT-B-32:laion2b_s34b_b79k"
BUNDLED_DIR = resource("models")
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
CONFIG_NAME = "open_clip_config.json"


# Pretrained models offered besides the default, with the size of their fp32 weights in MB (parameters
# x 4 bytes, counted by ``weights_mb`` on the meta device: seconds per model, so not at run time).
KNOWN_MODELS: dict[str, int] = {
    "ViT-B-32:laion2b_s34b_b79k": 605,
    "ViT-B-16:laion2b_s34b_b88k": 598,
    "ViT-L-14:laion2b_s32b_b82k": 1710,
    "MobileCLIP-S1:datacompdr": 340,
    "MobileCLIP-S2:datacompdr": 397,
    "ViT-B-16-SigLIP:webli": 813,
}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec; ``text`` is the canonical form the library records."""

    text: str
    kind: str  # "pretrained" | "file" | "random" | "dir" | "custom"
    arch: str | None = None
    tag: str | None = None
    path: Path | None = None

    def __str__(self) -> str:
        return self.text


# Embedders that are not open_clip models, by name (see register_embedder).
_CUSTOM: dict[str, Callable[[], Any]] = {}


def register_embedder(name: str, factory: Callable[[], Any]) -> None:
    """Make the model spec *name* create ``factory()``, an object following
    ``core.embedder.ImageTextEmbedder`` (the tests register a deterministic fake this way)."""
    if ":" in name or os.sep in name:
        raise ValueError(f"a custom model name has no ':' or '{os.sep}': {name!r}")
    _CUSTOM[name] = factory


def unregister_embedder(name: str) -> None:
    """Forget a custom model name."""
    _CUSTOM.pop(name, None)


def custom_embedder(name: str) -> Any:
    """A new embedder for a registered custom model name."""
    try:
        return _CUSTOM[name]()
    except KeyError:
        raise ModelSpecError(f"No model named '{name}' is registered.") from None


def bundled_models() -> dict[str, Path]:
    """Models shipped inside the package: name -> directory (config + weights)."""
    if not BUNDLED_DIR.is_dir():
        return {}
    return {d.name: d for d in sorted(BUNDLED_DIR.iterdir()) if (d / CONFIG_NAME).is_file()}


def model_catalog() -> list[dict]:
    """Bundled and known models: name, bundled (true/false), size_mb (weights on disk, or to download)."""
    out = [{"name": name, "bundled": True,
            "size_mb": round(sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6, 1)}
           for name, folder in bundled_models().items()]
    return out + [{"name": name, "bundled": False, "size_mb": float(mb)} for name, mb in KNOWN_MODELS.items()]


def weights_mb(arch: str) -> int:
    """Size in MB of an architecture's fp32 weights, from its parameters built on the meta device."""
    import torch  # noqa: F401 - the meta device needs torch; open_clip imports it too

    model = _open_clip().create_model(arch, device="meta")
    return round(sum(p.numel() for p in model.parameters()) * 4 / 1e6)


def _open_clip():
    ensure_torchvision_importable()
    import open_clip

    return open_clip


def architectures() -> list[str]:
    """open_clip's architecture names, read from its config files: importing open_clip takes seconds
    (torch, torchvision, timm), and indexing decodes while the model loads in the background."""
    folder = _config_folder()
    if folder is None:
        return list(_open_clip().list_models())
    return sorted(p.stem for p in folder.glob("*.json"))


@functools.lru_cache(maxsize=1)
def _config_folder() -> Path | None:
    spec = importlib.util.find_spec("open_clip")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model_configs"
    return folder if folder.is_dir() else None


def geometry(spec: ModelSpec) -> tuple[int, int] | None:
    """(input side in pixels, embedding width) from the model's config file, without loading it; None
    when the config cannot say (a custom model, an unusual config): then only the loaded model knows."""
    try:
        if spec.kind == "dir":
            cfg = json.loads((spec.path / CONFIG_NAME).read_text(encoding="utf-8"))["model_cfg"]
        elif spec.arch and (folder := _config_folder()) is not None:
            cfg = json.loads((folder / f"{spec.arch}.json").read_text(encoding="utf-8"))
        else:
            return None
        size = cfg["vision_cfg"]["image_size"]
        size = size[0] if isinstance(size, (list, tuple)) else size
        return int(size), int(cfg["embed_dim"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def parse_spec(text: str, *, verify: bool = True) -> ModelSpec:
    """Parse a model spec string, checking it names something loadable (no download happens).

    *verify* False skips checking a pretrained tag against open_clip's list (which imports open_clip):
    for a spec the library recorded, checked when it was first given."""
    text = (text or "").strip()
    if not text:
        raise ModelSpecError("An empty model spec was given. Use e.g. "
                             f"'{DEFAULT_MODEL}', 'ARCH:/path/to/weights.safetensors' or 'tiny-fashion'.")
    if text in _CUSTOM:
        return ModelSpec(text, "custom")
    bundled = bundled_models()
    if text in bundled:
        return ModelSpec(text, "dir", path=bundled[text])
    if text.startswith("local-dir:") or (":" not in text and os.sep in text):
        folder = Path(text.removeprefix("local-dir:")).expanduser().absolute()
        if not (folder / CONFIG_NAME).is_file():
            raise ModelSpecError(f"Model folder {folder} has no {CONFIG_NAME}; an open_clip model folder "
                                 "holds that config and its weights (open_clip_model.safetensors).")
        return ModelSpec(f"local-dir:{folder}", "dir", path=folder)
    arch, sep, rest = text.partition(":")
    if not sep or not rest:
        raise ModelSpecError(
            f"Model spec '{text}' names no weights. Write ARCH:TAG (e.g. '{DEFAULT_MODEL}'), "
            "ARCH:/path/to/weights.safetensors, ARCH:none, or a bundled model "
            f"({', '.join(bundled) or 'none installed'}).")
    known = architectures()
    if arch not in known:
        near = difflib.get_close_matches(arch, known, n=3)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        raise ModelSpecError(f"'{arch}' is not an open_clip architecture.{hint} "
                             "'python -c \"import open_clip; print(open_clip.list_models())\"' lists them.")
    if rest.lower() == "none":
        return ModelSpec(f"{arch}:none", "random", arch=arch)
    looks_like_path = (os.sep in rest or "/" in rest or rest.startswith("~")
                       or rest.lower().endswith(WEIGHT_SUFFIXES))
    if looks_like_path:
        weights = Path(rest).expanduser().absolute()
        if weights.suffix.lower() not in WEIGHT_SUFFIXES:
            raise ModelSpecError(f"Weights file {weights} should end in one of {', '.join(WEIGHT_SUFFIXES)}.")
        return ModelSpec(f"{arch}:{weights}", "file", arch=arch, path=weights)
    if not verify:
        return ModelSpec(f"{arch}:{rest}", "pretrained", arch=arch, tag=rest)
    tags = _open_clip().list_pretrained_tags_by_model(arch)
    if rest not in tags:
        raise ModelSpecError(f"'{rest}' is not a pretrained tag of {arch}. Known tags: "
                             f"{', '.join(tags) or 'none'}; or give a local weights file as {arch}:/path.")
    return ModelSpec(f"{arch}:{rest}", "pretrained", arch=arch, tag=rest)


@dataclass
class LoadedModel:
    """An open_clip model in eval mode plus what is needed to feed it."""

    model: Any
    preprocess: Any  # PIL image -> normalized tensor (the model config's size, mean and std)
    make_tokenizer: Callable[[], Any]  # made on first use: indexing never needs it (~0.15 s)
    image_size: int
    dim: int
    _tokenizer: Any = None
    checkpoint: Path | None = None  # the weights file a pretrained tag or a file spec was read from

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = self.make_tokenizer()
        return self._tokenizer


RANDOM_WEIGHTS_SEED = 0  # ARCH:none models


def build(spec: ModelSpec, cache_dir: Path) -> LoadedModel:
    """Create the model on the CPU in fp32 (weights fetched or read as the spec says)."""
    open_clip = _open_clip()
    kwargs: dict[str, Any] = {}
    if spec.kind == "dir":
        name = f"local-dir:{spec.path}"
    elif spec.kind == "random":
        log.warning("%s: random weights, for benchmarks only; search results are meaningless.", spec.text)
        name = spec.arch
    elif spec.kind == "file":
        if not spec.path.is_file():
            raise ModelUnavailable(f"The weights file {spec.path} does not exist. Check the path in the "
                                   f"model spec '{spec.text}'.")
        name, kwargs["pretrained"] = spec.arch, str(spec.path)
    else:
        name = spec.arch
        cfg = open_clip.get_pretrained_cfg(spec.arch, spec.tag)
        kwargs["pretrained"] = str(fetch_pretrained(spec, cfg, cache_dir))
        # A file path skips open_clip's per-tag preprocessing; pass the tag's values explicitly.
        for ours, theirs in (("image_mean", "mean"), ("image_std", "std"),
                             ("image_interpolation", "interpolation"), ("image_resize_mode", "resize_mode")):
            if cfg.get(theirs) is not None:
                kwargs[ours] = cfg[theirs]
        if cfg.get("quick_gelu"):
            kwargs["force_quick_gelu"] = True
    try:
        import torch

        # random weights from a fixed seed: the same model in every process, so benchmark runs (and
        # their text vectors, hence how far a search's kNN widens) are comparable; the caller's RNG
        # state is left as it was
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_WEIGHTS_SEED)
            model, _, preprocess = open_clip.create_model_and_transforms(name, weights_only=True, **kwargs)
    except Exception as err:  # also SafetensorError, UnpicklingError: a damaged or foreign file
        raise ModelUnavailable(f"Could not load the model '{spec.text}': {err}. If this is a local weights "
                               "file, check that it matches the architecture named before the colon.") from err
    model.eval()
    size = model.visual.image_size
    size = size[0] if isinstance(size, (tuple, list)) else int(size)
    loaded = LoadedModel(model, preprocess, lambda: open_clip.get_tokenizer(name), size, 0,
                         checkpoint=Path(kwargs["pretrained"]) if "pretrained" in kwargs else None)
    projection = getattr(model, "text_projection", None)
    loaded.dim = int(projection.shape[1]) if getattr(projection, "shape", None) is not None \
        else int(model.encode_text(loaded.tokenizer(["x"])).shape[-1])
    return loaded


def fetch_pretrained(spec: ModelSpec, cfg: dict, cache_dir: Path) -> Path:
    """The local checkpoint of a pretrained tag: from the cache, else downloaded with a progress bar."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached = _cached_checkpoint(cfg, cache_dir)
    if cached:
        return cached
    host = _download_host(cfg)
    _require_network(spec, host)
    log.info("downloading %s from %s into %s", spec.text, host, cache_dir)
    open_clip = _open_clip()
    try:
        target = open_clip.download_pretrained(cfg, cache_dir=str(cache_dir))
    except Exception as err:  # network libraries raise many types; all mean the same to the user
        raise ModelUnavailable(_offline_message(spec, f"the download from {host} failed ({err})")) from None
    if not target or not Path(target).is_file():
        raise ModelUnavailable(_offline_message(spec, f"the download from {host} produced no file"))
    return Path(target)


def _cached_checkpoint(cfg: dict, cache_dir: Path) -> Path | None:
    hub = cfg.get("hf_hub", "")
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo, filename = os.path.split(hub)
        names = [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        if filename.endswith(".bin"):
            names.insert(0, filename[:-4] + ".safetensors")
        for name in names:
            hit = try_to_load_from_cache(repo, name, cache_dir=str(cache_dir))
            if isinstance(hit, str) and Path(hit).is_file():
                return Path(hit)
    url = cfg.get("url", "")
    if url:
        local = cache_dir / os.path.basename(urllib.parse.urlparse(url).path)
        if local.is_file():
            return local
    return None


def _download_host(cfg: dict) -> str:
    if cfg.get("hf_hub"):
        from huggingface_hub import constants

        return urllib.parse.urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    return urllib.parse.urlparse(cfg.get("url", "")).hostname or "the model server"


def _require_network(spec: ModelSpec, host: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not after minutes of retries, when the download host is unreachable."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return
    except OSError as err:
        reason = f"{host} could not be reached ({err.strerror or err})"
    raise ModelUnavailable(_offline_message(spec, reason))


def _offline_message(spec: ModelSpec, reason: str) -> str:
    return (f"Could not download the model '{spec.text}': {reason}. PhotoSense downloads model weights "
            "once, on first use, and needs the network for that. To work offline, download the weights "
            "file elsewhere and pass it as a local file with --model "
            f"'{spec.arch}:/path/to/weights.safetensors' (or try the bundled 'tiny-fashion' model).")
