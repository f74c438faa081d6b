"""Fashion-MNIST (Debian ``dataset-fashion-mnist``, MIT): loading it, and building photo folders from it."""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")

CLASS_NAMES: tuple[str, ...] = (
    "t-shirt", "trousers", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)

# Other words people use for each class; the tiny model sees them in its training captions.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("t-shirt", "top", "tee shirt", "t-shirt or top"),
    ("trousers", "pair of trousers", "pants", "jeans"),
    ("pullover", "sweater", "jumper"),
    ("dress", "summer dress"),
    ("coat", "jacket"),
    ("sandal", "sandals", "summer sandal"),
    ("shirt", "button-down shirt", "blouse"),
    ("sneaker", "trainer", "running shoe"),
    ("bag", "handbag", "purse"),
    ("ankle boot", "boot", "short boot"),
)


class DatasetMissing(FileNotFoundError):
    """The Fashion-MNIST files are not installed."""


@dataclass(frozen=True)
class Split:
    """One split: uint8 images (N, 28, 28) and int64 labels (N,)."""

    images: np.ndarray
    labels: np.ndarray


def data_dir() -> Path:
    """Where the dataset lives (``PHOTOSENSE_FASHION_MNIST`` overrides the Debian path)."""
    return Path(os.environ.get("PHOTOSENSE_FASHION_MNIST", DEFAULT_DIR))


def available() -> bool:
    """True when both splits can be loaded."""
    root = data_dir()
    return all((root / f"{p}-{k}-idx{n}-ubyte.gz").is_file()
               for p in ("train", "t10k") for k, n in (("images", 3), ("labels", 1)))


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(split: str = "test") -> Split:
    """Load ``"train"`` (60k) or ``"test"`` (10k)."""
    prefix = {"train": "train", "test": "t10k"}[split]
    root = data_dir()
    images_path = root / f"{prefix}-images-idx3-ubyte.gz"
    if not images_path.is_file():
        raise DatasetMissing(
            f"Fashion-MNIST is not installed at {root}. Install it with "
            "'apt-get install dataset-fashion-mnist' (or 'bash tools/install.sh --dev'), "
            "or point PHOTOSENSE_FASHION_MNIST at a folder holding the four .gz files.")
    labels = _read_idx(root / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return Split(images=_read_idx(images_path), labels=labels)


def stratified_indices(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """*per_class* random indices of every class, shuffled together."""
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
             for c in range(len(CLASS_NAMES))]
    out = np.concatenate(picks)
    rng.shuffle(out)
    return out


# Formats the generated libraries cycle through, with how each is saved.
_FORMATS = (("jpg", "JPEG", {"quality": 90}), ("png", "PNG", {}), ("webp", "WEBP", {"quality": 90}),
            ("jpeg", "JPEG", {"quality": 85, "progressive": True}), ("bmp", "BMP", {}),
            ("tif", "TIFF", {}), ("JPG", "JPEG", {"quality": 92}))
# EXIF orientation -> how to store the pixels so that applying the tag makes them upright again.
_STORED_FOR_ORIENTATION = {3: "ROTATE_180", 6: "ROTATE_90", 8: "ROTATE_270"}


@dataclass(frozen=True)
class GeneratedPhoto:
    """A file written by :func:`write_library` and the class it shows."""

    path: Path
    label: int


def write_library(dest: Path, split: Split, indices: np.ndarray, size: int = 112,
                  rotated_every: int = 7, seed: int = 0) -> list[GeneratedPhoto]:
    """Write ``split.images[indices]`` under *dest* as photos: upscaled, mixed formats, in class-blind
    subfolders, every *rotated_every*-th JPEG stored rotated with an EXIF orientation tag."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out: list[GeneratedPhoto] = []
    for n, i in enumerate(indices.tolist()):
        ext, fmt, opts = _FORMATS[n % len(_FORMATS)]
        side = int(size + rng.integers(-size // 4, size // 4 + 1))
        img = Image.fromarray(split.images[i], "L").resize((side, side), Image.Resampling.BICUBIC)
        if fmt in ("JPEG", "WEBP") and n % 2:
            img = img.convert("RGB")
        folder = dest / f"roll-{n % 13:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"IMG_{n:05d}.{ext}"
        if fmt == "JPEG" and rotated_every and n % rotated_every == 0:
            orientation = (3, 6, 8)[(n // rotated_every) % 3]
            exif = Image.Exif()
            exif[0x0112] = orientation
            stored = img.transpose(getattr(Image.Transpose, _STORED_FOR_ORIENTATION[orientation]))
            stored.save(path, fmt, exif=exif, **opts)
        else:
            img.save(path, fmt, **opts)
        out.append(GeneratedPhoto(path, int(split.labels[i])))
    return out


def class_query(label: int) -> str:
    """The text query that names a class (what a person would type)."""
    return CLASS_NAMES[label]


def search_precision(library, photos: list[GeneratedPhoto], k: int = 20) -> dict[str, float]:
    """Precision@k of a text search naming each class, over a library made by :func:`write_library`."""
    truth = {str(p.path): p.label for p in photos}
    out = {}
    for label, name in enumerate(CLASS_NAMES):
        hits = library.search(class_query(label), limit=k, stack=False)
        out[name] = sum(truth.get(h.path) == label for h in hits) / k
    return out


def similar_precision(library, photos: list[GeneratedPhoto], k: int = 10, queries: int = 300,
                      seed: int = 0) -> float:
    """Mean precision@k of "find similar" (same class) from *queries* random library photos."""
    truth = {str(p.path): p.label for p in photos}
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(photos), size=min(queries, len(photos)), replace=False)
    scores = []
    for i in picks.tolist():
        query = photos[i]
        hits = library.similar(query.path, limit=k, stack=False)
        scores.append(sum(truth.get(h.path) == query.label for h in hits) / k)
    return float(np.mean(scores))


def class_prompt_set(name: str = "fashion", weak: bool = False) -> str:
    """A prompt set (TOML) naming the 10 classes; *weak*: two of them described badly (\"garment\" for
    shirt, \"outerwear\" for coat), a weak zero-shot prior where accepted examples must help."""
    labels = {n: f'[labels."{n}"]\n' for n in CLASS_NAMES}
    if weak:
        labels["shirt"] += 'prompts = ["garment"]\n'
        labels["coat"] += 'prompts = ["outerwear"]\n'
    return f'name = "{name}"\n' + "".join(labels.values())


def top_tag_accuracy(library, photos: list[GeneratedPhoto], set_name: str,
                     skip: frozenset[str] | set[str] = frozenset()) -> float:
    """Share of photos (outside *skip*) whose best tag from the set names their class; untagged is wrong."""
    tags = dict(library.tags.all())
    right = []
    for p in photos:
        if str(p.path) in skip:
            continue
        mine = [t for t in tags.get(str(p.path), []) if t.set == set_name]
        right.append(bool(mine) and mine[0].label == CLASS_NAMES[p.label])
    return float(np.mean(right))
