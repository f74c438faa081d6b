"""Prompt sets: the TOML format users write (labels, prompts, negatives, thresholds), parsed and checked."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from photosense.core.errors import UsageError

_TOP_KEYS = {"name", "description", "templates", "background", "labels"}
_LABEL_KEYS = {"prompts", "negatives", "threshold"}


class PromptSetError(UsageError):
    """A prompt set file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True)
class Label:
    """One label of a set: its prompts (ensembled with the templates), negatives, optional threshold."""

    name: str
    prompts: tuple[str, ...]
    negatives: tuple[str, ...] = ()
    threshold: float | None = None


@dataclass(frozen=True)
class PromptSet:
    """A parsed prompt set. ``templates`` empty means the default ensemble (prompts.DEFAULT_TEMPLATES)."""

    name: str
    labels: tuple[Label, ...]
    templates: tuple[str, ...] = ()
    background: tuple[str, ...] = ()
    description: str = ""
    source: str = field(default="", compare=False)

    def label(self, name: str) -> Label | None:
        """A label by name."""
        return next((lab for lab in self.labels if lab.name == name), None)


def _strings(value: object, where: str, origin: str, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise PromptSetError(f"{origin}: {where} must be a list of non-empty strings.")
    if not value and not allow_empty:
        raise PromptSetError(f"{origin}: {where} must name at least one prompt.")
    return tuple(" ".join(v.split()) for v in value)


def parse(text: str, origin: str = "<prompt set>") -> PromptSet:
    """Parse and validate a prompt set from TOML *text*; *origin* (a file name) prefixes every error."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise PromptSetError(f"{origin}: not valid TOML: {err}.") from None
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise PromptSetError(f"{origin}: unknown field(s) {', '.join(sorted(unknown))}; a prompt set has "
                             f"{', '.join(sorted(_TOP_KEYS))}.")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PromptSetError(f'{origin}: name is missing; add a line such as name = "wardrobe".')
    if "/" in name or name.strip() != name:
        raise PromptSetError(f"{origin}: name {name!r} must not contain '/' or surrounding spaces.")
    templates = _strings(data["templates"], "templates", origin) if "templates" in data else ()
    for t in templates:
        if t.count("{}") != 1 or "{" in t.replace("{}", ""):
            raise PromptSetError(f"{origin}: templates: {t!r} must contain exactly one {{}} where the "
                                 "prompt goes, e.g. \"a photo of a {}.\".")
    background = _strings(data["background"], "background", origin) if "background" in data else ()
    labels_table = data.get("labels")
    if not isinstance(labels_table, dict) or not labels_table:
        raise PromptSetError(f'{origin}: no labels; add at least one [labels."NAME"] table with prompts.')
    labels = []
    for label_name, spec in labels_table.items():
        where = f"labels.{label_name!r}"
        if not label_name.strip() or "/" in label_name:
            raise PromptSetError(f"{origin}: {where}: a label name must be non-empty and contain no '/'.")
        if not isinstance(spec, dict):
            raise PromptSetError(f"{origin}: {where} must be a table with prompts = [...].")
        unknown = set(spec) - _LABEL_KEYS
        if unknown:
            raise PromptSetError(f"{origin}: {where}: unknown field(s) {', '.join(sorted(unknown))}; a label "
                                 f"has {', '.join(sorted(_LABEL_KEYS))}.")
        prompts = _strings(spec["prompts"], f"{where}.prompts", origin) if "prompts" in spec else (label_name,)
        negatives = _strings(spec.get("negatives", []), f"{where}.negatives", origin, allow_empty=True)
        threshold = spec.get("threshold")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) \
                    or not 0.0 < float(threshold) < 1.0:
                raise PromptSetError(f"{origin}: {where}.threshold must be a number between 0 and 1 "
                                     f"(a calibrated probability), not {threshold!r}.")
            threshold = float(threshold)
        labels.append(Label(label_name, prompts, negatives, threshold))
    description = data.get("description", "")
    if not isinstance(description, str):
        raise PromptSetError(f"{origin}: description must be a string.")
    return PromptSet(name, tuple(labels), templates, background, description, source=text)


def load(path: str | os.PathLike[str]) -> PromptSet:
    """Read and parse a prompt set file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise PromptSetError(f"Cannot read the prompt set {path}: {err}.") from None
    return parse(text, str(path))


def bundled_dir() -> Path:
    """Where the default prompt sets ship."""
    from photosense.core.assets import resource

    return resource("prompt_sets")


def bundled() -> list[PromptSet]:
    """The default prompt sets that ship with PhotoSense."""
    folder = bundled_dir()
    return [load(p) for p in sorted(folder.glob("*.toml"))] if folder.is_dir() else []
