"""``library.tags``: prompt sets, automatic tags, the user's accepts and rejects, XMP export."""
from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from photosense.core import promptsets, tagging, xmp
from photosense.core.catalog import MANUAL_SET, Tag
from photosense.core.errors import UsageError
from photosense.core.promptsets import PromptSet
from photosense.core.search import Hit
from photosense.services.context import LibraryContext
from photosense.services.organizer import CHUNK, Organizer
from photosense.services.search import SearchService


class Tags:
    """Prompt sets and tags of a library (``library.tags``)."""

    def __init__(self, ctx: LibraryContext, organizer: Organizer, search: SearchService) -> None:
        self._ctx = ctx
        self._catalog = ctx.catalog
        self._organizer = organizer
        self._search = search

    def apply(self, source: str | os.PathLike[str] | PromptSet) -> dict:
        """Add or update a prompt set (a TOML file path or a parsed set) and tag every photo with it.
        Returns {set, labels, photos, tags}."""
        prompt_set = source if isinstance(source, PromptSet) else promptsets.load(source)
        if prompt_set.name == MANUAL_SET:
            raise UsageError(f"'{MANUAL_SET}' is reserved for hand-made tags; give the set another name.")
        with self._ctx.write_lock:
            set_id = self._catalog.save_prompt_set(prompt_set.name, prompt_set.source,
                                                   [lab.name for lab in prompt_set.labels])
            model = self._organizer.set_model(set_id, prompt_set)
            photos = len(self._search.embedded_ids())
            written = self._organizer.tag(model)
        return {"set": prompt_set.name, "labels": len(prompt_set.labels), "photos": photos, "tags": written}

    def apply_defaults(self) -> list[dict]:
        """Apply every prompt set that ships with PhotoSense."""
        return [self.apply(s) for s in promptsets.bundled()]

    def preview(self, prompt_set: PromptSet, limit: int = 12) -> dict[str, list[Hit]]:
        """Top photos per label of an unsaved set, as it would score them (for a live editor preview)."""
        model = tagging.build(0, prompt_set, self._ctx.embedder, self._ctx.calibrator)
        out: dict[str, list[tuple[float, int]]] = {name: [] for name in model.names}
        ids = self._search.embedded_ids()
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            rows, starts = self._search.item_vectors(part)
            scores = np.maximum.reduceat(model.scores(self._ctx.calibrator, rows), starts, axis=0)
            for k, name in enumerate(model.names):
                top = np.argsort(-scores[:, k])[:limit]
                out[name] += [(float(scores[r, k]), int(part[r])) for r in top
                              if scores[r, k] >= model.thresholds[k]]
        found = self._search.paths_of([i for v in out.values() for _, i in v])
        return {name: [Hit(i, found[i], s) for s, i in sorted(v, reverse=True)[:limit] if i in found]
                for name, v in out.items()}

    def diagnose(self, prompt_set: PromptSet) -> list[dict]:
        """Weak prompts of a set, for an editor: [{label, prompt, reason}]. A prompt is weak when the
        model embeds it like a generic word (too generic, or words it does not know), or when a search
        for it finds no photo of this library above the relevance cut-off (nothing here looks more
        like it than like the background)."""
        prompts = [(lab.name, p) for lab in prompt_set.labels for p in lab.prompts]
        if not prompts:
            return []
        calibrator = self._ctx.calibrator
        vectors = np.stack([self._ctx.text_vector(p) for _, p in prompts])
        embedded = len(self._search.embedded_ids()) > 0
        out = []
        for (label, prompt), g in zip(prompts, calibrator.grounding([p for _, p in prompts], vectors)):
            if g.generic:
                reason = ("the model barely tells it from a generic word (too generic, or words it does not "
                          "know): try a more specific or more common wording")
            elif embedded and not self._finds_any(prompt):
                reason = "no photo in this library matches it better than the background"
            else:
                continue
            out.append({"label": label, "prompt": prompt, "reason": reason})
        return out

    def _finds_any(self, prompt: str) -> bool:
        try:
            return bool(self._search.search(prompt, limit=1, stack=False))
        except UsageError:  # a prompt that reads as query syntax: the text-side check still applies
            return True

    def sets(self) -> list[dict]:
        """The library's prompt sets: {name, labels, tags} (tags: photos tagged, rejections left out)."""
        counts = self._catalog.tag_totals()
        out = []
        for set_id, name, source in self._catalog.prompt_sets():
            labels = ([lab.name for lab in promptsets.parse(source, name).labels] if source
                      else self._catalog.set_labels(set_id))
            out.append({"name": name, "labels": labels, "tags": counts.get(set_id, 0)})
        return out

    def prompt_set(self, name: str) -> PromptSet:
        """A stored prompt set, parsed (for an editor)."""
        source = self._catalog.prompt_set_source(name)
        if source is None:
            raise UsageError(f"There is no prompt set named {name!r}; 'tags list' shows them.")
        return promptsets.parse(source, name)

    def remove(self, name: str) -> int:
        """Remove a prompt set and all its tags (manual ones included); returns the tags removed."""
        set_id = self._catalog.prompt_set_id(name)
        if set_id is None:
            raise UsageError(f"There is no prompt set named {name!r}; 'tags list' shows them.")
        return self._catalog.remove_prompt_set(set_id)

    def counts(self) -> list[dict]:
        """Tag counts per set and label ({set, label, count}), for a sidebar."""
        return [{"set": s, "label": lab, "count": c} for s, lab, c in self._catalog.tag_counts()]

    def of(self, path: str | os.PathLike[str], include_rejected: bool = False) -> list[Tag]:
        """A photo's tags, best first."""
        pid = self._ctx.photo(path).id
        return self._catalog.tags_of([pid], include_rejected)[pid]

    def all(self) -> list[tuple[str, list[Tag]]]:
        """(path, tags) of every photo that has a tag, by path."""
        ids = self._catalog.tagged_photo_ids()
        found = self._search.paths_of(ids)
        tags = self._catalog.tags_of(ids)
        return sorted(((found[i], tags[i]) for i in ids if i in found and tags[i]), key=lambda x: x[0])

    def _resolve(self, label: str) -> tuple[int, str, PromptSet | None]:
        """"label" or "set/label" -> (set id, label, the set if it is a prompt set)."""
        set_name, _, name = label.strip().rpartition("/")
        if not name:
            raise UsageError("Name the label to accept or reject, e.g. 'dog' or 'subjects/dog'.")
        sets = tagging.stored_sets(self._catalog.prompt_set_sources())
        if set_name:
            for set_id, ps in sets:
                if ps.name == set_name:
                    if ps.label(name) is None:
                        raise UsageError(f"The prompt set {set_name!r} has no label {name!r}; its labels: "
                                         f"{', '.join(lab.name for lab in ps.labels)}.")
                    return set_id, name, ps
            if set_name != MANUAL_SET:
                raise UsageError(f"There is no prompt set named {set_name!r}; 'tags list' shows them.")
            return self._catalog.manual_set_id(), name, None
        owners = [(i, ps) for i, ps in sets if ps.label(name) is not None]
        if len(owners) > 1:
            raise UsageError(f"The label {name!r} is in several prompt sets ("
                             f"{', '.join(ps.name for _, ps in owners)}); write it as SET/{name}.")
        if owners:
            return owners[0][0], name, owners[0][1]
        return self._catalog.manual_set_id(), name, None

    def accept(self, label: str, photo_paths: Iterable[str | os.PathLike[str]], retag: bool = True) -> None:
        """Confirm *label* on photos; never overwritten by automatic tagging, and training for the
        set's few-shot refinement (the set is re-tagged unless *retag* is False)."""
        self._judge(label, photo_paths, True, retag)

    def reject(self, label: str, photo_paths: Iterable[str | os.PathLike[str]], retag: bool = True) -> None:
        """Refuse *label* on photos (the tag disappears and never comes back automatically)."""
        self._judge(label, photo_paths, False, retag)

    def _judge(self, label: str, photo_paths: Iterable[str | os.PathLike[str]], accepted: bool,
               retag: bool) -> None:
        ids = [self._ctx.photo(p).id for p in photo_paths]
        if not ids:
            raise UsageError("Name at least one photo.")
        set_id, name, prompt_set = self._resolve(label)
        with self._ctx.write_lock:
            self._catalog.set_manual_tags(set_id, name, ids, accepted)
            if prompt_set is not None and retag:
                self._organizer.tag(self._organizer.set_model(set_id, prompt_set))

    def export_xmp(self, photo_paths: Sequence[str | os.PathLike[str]] | None = None,
                   min_score: float | None = None) -> dict:
        """Write the tags to XMP sidecars beside the photos (merging existing sidecars; originals are
        never touched). Returns {written, unchanged, failed: [{path, reason}]}."""
        ids = ([self._ctx.photo(p).id for p in photo_paths] if photo_paths
               else self._catalog.tagged_photo_ids())
        tags = self._catalog.tags_of(ids)
        found = self._search.paths_of(ids)
        report: dict = {"written": 0, "unchanged": 0, "failed": []}
        for pid in ids:
            keep = [t for t in tags.get(pid, []) if min_score is None or t.source == "manual"
                    or (t.score or 0) >= min_score]
            if pid not in found or not keep:
                continue
            try:
                changed = xmp.write_tags(Path(found[pid]), [(t.set, t.label) for t in keep])
            except (OSError, xmp.XmpError) as err:
                report["failed"].append({"path": found[pid], "reason": str(err)})
                continue
            report["written" if changed else "unchanged"] += 1
        return report
