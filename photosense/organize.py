"""Tags, albums and calibrated search on a Library: the organizing half of the Python API (``lib.tags``, ``lib.albums``)."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from photosense.core import albums as album_store
from photosense.core import promptsets, tagging
from photosense.core.calibration import RELEVANCE_CUTOFF, Calibrator
from photosense.core.errors import UsageError
from photosense.core.promptsets import PromptSet
from photosense.core.query import Filters, Query, parse
from photosense.core.search import Hit
from photosense.core.store import rows
from photosense.core.tagging import Tag

if TYPE_CHECKING:
    from photosense.library import Library

log = logging.getLogger(__name__)

CHUNK = 20000  # photos scored at once when tagging or matching the whole library


# -- compiled queries -------------------------------------------------------------------------

@dataclass
class CompiledQuery:
    """A parsed query with its vectors: the weighted positive direction, its background, the negatives."""

    query: Query
    vector: np.ndarray | None
    background: np.ndarray | None
    negatives: list[tuple[np.ndarray, np.ndarray, float]]  # (vector, background, weight)

    def assess(self, calibrator: Calibrator, images: np.ndarray,
               threshold: float = RELEVANCE_CUTOFF) -> tuple[np.ndarray, np.ndarray]:
        """(cosine to the query, passes) for unit image vectors: passes = relevant and not excluded."""
        n = len(images)
        cos = images @ self.vector if self.vector is not None else np.ones(n, np.float32)
        keep = (calibrator.probabilities(images, self.vector[None], self.background)[:, 0] >= threshold
                if self.vector is not None else np.ones(n, bool))
        return cos, keep & ~self.excluded(calibrator, images)

    def excluded(self, calibrator: Calibrator, images: np.ndarray) -> np.ndarray:
        """Photos a negative term is relevant to (a weight w lowers its bar to cut-off / w)."""
        out = np.zeros(len(images), bool)
        for vector, background, weight in self.negatives:
            out |= calibrator.probabilities(images, vector[None], background)[:, 0] >= RELEVANCE_CUTOFF / weight
        return out


class Organizer:
    """Tagging, albums and calibrated search for one library (thread-safe; created by the Library)."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.catalog = library.catalog
        self._lock = threading.RLock()
        self._calibrator: Calibrator | None = None
        self._set_models: dict[int, tuple[str, tagging.SetModel]] = {}
        self.tags = Tags(self)
        self.albums = Albums(self)

    @property
    def calibrator(self) -> Calibrator:
        with self._lock:
            if self._calibrator is None:
                self._calibrator = Calibrator(self.library.embedder)
            return self._calibrator

    def text_vector(self, text: str) -> np.ndarray:
        return self.library._text_vector(text)  # noqa: SLF001 - the library's cached query encoder

    def compile(self, query: Query) -> CompiledQuery:
        """Embed a parsed query's terms."""
        vector = background = None
        if query.positive:
            terms = np.stack([self.text_vector(t.text) for t in query.positive])
            weights = np.array([t.weight for t in query.positive], np.float32)
            mixed = (weights[:, None] * terms).sum(axis=0)
            vector = (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32)
            background = self.calibrator.background(np.concatenate([terms, vector[None]]))
        negatives = []
        for term in query.negative:
            v = self.text_vector(term.text)
            negatives.append((v, self.calibrator.background(v[None]), term.weight))
        return CompiledQuery(query, vector, background, negatives)

    # -- shared helpers ----------------------------------------------------------------------

    def _model_id(self) -> int | None:
        return self.catalog.model_id(self.library.model_spec)

    def embedded_ids(self) -> np.ndarray:
        """Ids of every photo with an embedding of the library's model."""
        vectors = self.library.vectors()
        return np.sort(vectors.ids()) if vectors is not None else np.empty(0, np.int64)

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        """Unit vectors of photos (all must be embedded)."""
        vectors = self.library.vectors()
        return vectors.vectors([int(i) for i in ids])

    def photo_id(self, path: str | os.PathLike[str]) -> int:
        return self.library.photo(path).id

    def paths_of(self, ids: Sequence[int]) -> dict[int, str]:
        return {i: p.path for i, p in self.catalog.photos_by_ids(list(ids)).items()}

    # -- search ------------------------------------------------------------------------------

    def search(self, text: str, limit: int = 50, show_all: bool = False) -> list[Hit]:
        """Photos matching a query (see core.query.HELP), best first, above the relevance cut-off
        unless *show_all*. Filters restrict an exact search, so they never lose true matches."""
        query = parse(text or "")
        if not (query.positive or query.negative or query.filters):
            raise UsageError("The search query is empty.")
        vectors = self.library.vectors()
        if vectors is None or len(vectors) == 0:
            return []
        allowed = np.asarray(query.filters.photo_ids(self.catalog), np.int64) if query.filters else None
        compiled = self.compile(query)
        if compiled.vector is None:  # filters (and maybe negatives) only: newest first
            return self._filtered_listing(compiled, allowed, limit)
        k = limit if show_all and not compiled.negatives else 2 * limit
        total = len(vectors) if allowed is None else len(allowed)
        while True:
            with vectors._lock:  # noqa: SLF001 - hits and their vectors from one state (live sync removes photos)
                ids, scores = vectors.search(compiled.vector, k, allowed=allowed)
                found = vectors.vectors(ids) if len(ids) else None
            if show_all:
                keep = ~compiled.excluded(self.calibrator, found) if len(ids) else np.zeros(0, bool)
            else:
                keep = compiled.assess(self.calibrator, found)[1] if len(ids) else np.zeros(0, bool)
            # the cut-off is per photo (its own background), so a few passing photos can sit below
            # failing ones: look further while the tail still yields some, up to 16x the limit
            if keep.sum() >= limit or k >= total or k >= 16 * limit or not keep[len(keep) // 2:].any():
                break
            k *= 2
        ids, scores = ids[keep][:limit], scores[keep][:limit]
        found = self.paths_of(ids.tolist())
        return [Hit(int(i), found[int(i)], float(s)) for i, s in zip(ids, scores) if int(i) in found]

    def _filtered_listing(self, compiled: CompiledQuery, allowed: np.ndarray | None, limit: int) -> list[Hit]:
        vectors = self.library.vectors()
        with vectors._lock:  # noqa: SLF001 - ids and their vectors from one state (live sync removes photos)
            ids = self.embedded_ids() if allowed is None else np.intersect1d(allowed, self.embedded_ids())
            found = self.vectors_of(ids) if compiled.negatives and len(ids) else None
        if found is not None:
            ids = ids[~compiled.excluded(self.calibrator, found)]
        photos = self.catalog.photos_by_ids(ids.tolist())
        ordered = sorted(photos.values(), key=lambda p: p.path)
        ordered.sort(key=lambda p: p.taken_at or "", reverse=True)  # newest first, undated last, stable
        return [Hit(p.id, p.path, 1.0) for p in ordered[:limit]]

    # -- tagging -----------------------------------------------------------------------------

    def set_model(self, set_id: int, prompt_set: PromptSet) -> tagging.SetModel:
        """The embedded prompt set (cached per source text), with its few-shot probe refitted."""
        with self._lock:
            cached = self._set_models.get(set_id)
            if cached is None or cached[0] != prompt_set.source:
                cached = (prompt_set.source, tagging.build(set_id, prompt_set, self.library.embedder,
                                                           self.calibrator))
                self._set_models[set_id] = cached
            model = cached[1]
            vectors = self.library.vectors()
            tagging.refine(self.catalog, model, self.calibrator, self.vectors_of,
                           embedded=vectors if vectors is not None else ())
            return model

    def tag(self, model: tagging.SetModel, ids: np.ndarray | None = None) -> int:
        """Tag photos (all embedded ones by default) with one set; returns the number of tags written."""
        ids = self.embedded_ids() if ids is None else np.asarray(ids, np.int64)
        written = 0
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            written += tagging.write_auto_tags(self.catalog, model, part,
                                               model.scores(self.calibrator, self.vectors_of(part)))
        return written

    def match(self, album: album_store.Album, ids: np.ndarray | None = None) -> int:
        """Recompute a smart album's matches among *ids* (default: the whole library); returns the count."""
        if album.kind != album_store.SMART:
            return 0
        checked = self.embedded_ids() if ids is None else np.asarray(ids, np.int64)
        if ids is not None:  # photos not embedded yet are matched once they are (organize_pending)
            vectors = self.library.vectors()
            checked = np.asarray([i for i in checked.tolist() if vectors is not None and i in vectors],
                                 np.int64)
        query = parse(album.description or "")
        filters = album.filters.merged(query.filters)
        candidates = np.asarray(filters.photo_ids(self.catalog, among=checked.tolist()), np.int64) \
            if filters else checked
        compiled = self.compile(query)
        threshold = album.threshold if album.threshold is not None else RELEVANCE_CUTOFF
        matched: dict[int, float] = {}
        for start in range(0, len(candidates), CHUNK):
            part = candidates[start:start + CHUNK]
            cos, keep = compiled.assess(self.calibrator, self.vectors_of(part), threshold)
            matched.update({int(i): float(s) for i, s in zip(part[keep], cos[keep])})
        album_store.write_matches(self.catalog, album.id, checked, matched)
        return len(matched)

    def organize_pending(self) -> int:
        """Tag and match photos embedded since they were last organized (any indexing path calls
        this); returns how many photos were organized."""
        model_id = self._model_id()
        if model_id is None:
            return 0
        pending = rows(self.catalog, "SELECT p.id, p.indexed_at FROM photos p JOIN embeddings e ON "
                                     "e.photo_id = p.id AND e.model_id = ? LEFT JOIN organized o ON "
                                     "o.photo_id = p.id WHERE p.indexed_at IS NOT NULL AND "
                                     "(o.photo_id IS NULL OR o.indexed_at != p.indexed_at) ORDER BY p.id",
                           (model_id,))
        if not pending:
            return 0
        vectors = self.library.vectors()
        pending = [(i, t) for i, t in pending if vectors is not None and i in vectors]
        ids = np.array([i for i, _ in pending], np.int64)
        sets = tagging.stored_sets(self.catalog)
        smart = [a for a in album_store.all_albums(self.catalog) if a.kind == album_store.SMART]
        for set_id, prompt_set in sets:
            self.tag(self.set_model(set_id, prompt_set), ids)
        for album in smart:
            self.match(album, ids)
        with self.catalog.transaction() as db:
            db.executemany("INSERT INTO organized(photo_id, indexed_at) VALUES(?, ?) ON CONFLICT(photo_id) "
                           "DO UPDATE SET indexed_at = excluded.indexed_at", pending)
        if sets or smart:
            log.info("organized %d new photos: %d prompt sets, %d smart albums", len(ids), len(sets), len(smart))
        return len(ids)


class Tags:
    """Prompt sets and tags of a library (``library.tags``)."""

    def __init__(self, org: Organizer) -> None:
        self._org = org
        self._catalog = org.catalog

    def apply(self, source: str | os.PathLike[str] | PromptSet) -> dict:
        """Add or update a prompt set (a TOML file path or a parsed set) and tag every photo with it.
        Returns {set, labels, photos, tags}."""
        prompt_set = source if isinstance(source, PromptSet) else promptsets.load(source)
        if prompt_set.name == tagging.MANUAL_SET:
            raise UsageError(f"'{tagging.MANUAL_SET}' is reserved for hand-made tags; give the set another name.")
        with self._org.library._write_lock:  # noqa: SLF001
            set_id = tagging.save_set(self._catalog, prompt_set)
            model = self._org.set_model(set_id, prompt_set)
            photos = len(self._org.embedded_ids())
            written = self._org.tag(model)
        return {"set": prompt_set.name, "labels": len(prompt_set.labels), "photos": photos, "tags": written}

    def apply_defaults(self) -> list[dict]:
        """Apply every prompt set that ships with PhotoSense."""
        return [self.apply(s) for s in promptsets.bundled()]

    def preview(self, prompt_set: PromptSet, limit: int = 12) -> dict[str, list[Hit]]:
        """Top photos per label of an unsaved set, as it would score them (for a live editor preview)."""
        model = tagging.build(0, prompt_set, self._org.library.embedder, self._org.calibrator)
        out: dict[str, list[tuple[float, int]]] = {name: [] for name in model.names}
        ids = self._org.embedded_ids()
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            scores = model.scores(self._org.calibrator, self._org.vectors_of(part))
            for k, name in enumerate(model.names):
                top = np.argsort(-scores[:, k])[:limit]
                out[name] += [(float(scores[r, k]), int(part[r])) for r in top
                              if scores[r, k] >= model.thresholds[k]]
        found = self._org.paths_of([i for v in out.values() for _, i in v])
        return {name: [Hit(i, found[i], s) for s, i in sorted(v, reverse=True)[:limit] if i in found]
                for name, v in out.items()}

    def sets(self) -> list[dict]:
        """The library's prompt sets: {name, labels, tags} (tags: photos tagged, rejections left out)."""
        counts = dict(rows(self._catalog, "SELECT set_id, COUNT(*) FROM tags WHERE rejected = 0 GROUP BY set_id"))
        out = []
        for set_id, name, source in rows(self._catalog, "SELECT id, name, source FROM prompt_sets ORDER BY name"):
            labels = [lab.name for lab in promptsets.parse(source, name).labels] if source else sorted(
                r[0] for r in rows(self._catalog, "SELECT DISTINCT label FROM tags WHERE set_id = ?", (set_id,)))
            out.append({"name": name, "labels": labels, "tags": counts.get(set_id, 0)})
        return out

    def prompt_set(self, name: str) -> PromptSet:
        """A stored prompt set, parsed (for an editor)."""
        found = rows(self._catalog, "SELECT source FROM prompt_sets WHERE name = ? AND source IS NOT NULL", (name,))
        if not found:
            raise UsageError(f"There is no prompt set named {name!r}; 'tags list' shows them.")
        return promptsets.parse(found[0][0], name)

    def remove(self, name: str) -> int:
        """Remove a prompt set and all its tags (manual ones included); returns the tags removed."""
        found = rows(self._catalog, "SELECT id FROM prompt_sets WHERE name = ?", (name,))
        if not found:
            raise UsageError(f"There is no prompt set named {name!r}; 'tags list' shows them.")
        count = rows(self._catalog, "SELECT COUNT(*) FROM tags WHERE set_id = ?", (found[0][0],))[0][0]
        with self._catalog.transaction() as db:
            db.execute("DELETE FROM prompt_sets WHERE id = ?", (found[0][0],))
        return count

    def counts(self) -> list[dict]:
        """Tag counts per set and label ({set, label, count}), for a sidebar."""
        return [{"set": s, "label": lab, "count": c} for s, lab, c in rows(
            self._catalog, "SELECT s.name, t.label, COUNT(*) FROM tags t JOIN prompt_sets s ON s.id = t.set_id "
                           "WHERE t.rejected = 0 GROUP BY s.name, t.label ORDER BY s.name, t.label")]

    def of(self, path: str | os.PathLike[str], include_rejected: bool = False) -> list[Tag]:
        """A photo's tags, best first."""
        pid = self._org.photo_id(path)
        return tagging.tags_of(self._catalog, [pid], include_rejected)[pid]

    def all(self) -> list[tuple[str, list[Tag]]]:
        """(path, tags) of every photo that has a tag, by path."""
        ids = [r[0] for r in rows(self._catalog, "SELECT DISTINCT photo_id FROM tags WHERE rejected = 0")]
        found = self._org.paths_of(ids)
        tags = tagging.tags_of(self._catalog, ids)
        return sorted(((found[i], tags[i]) for i in ids if i in found and tags[i]), key=lambda x: x[0])

    def _resolve(self, label: str) -> tuple[int, str, PromptSet | None]:
        """"label" or "set/label" -> (set id, label, the set if it is a prompt set)."""
        set_name, _, name = label.strip().rpartition("/")
        if not name:
            raise UsageError("Name the label to accept or reject, e.g. 'dog' or 'subjects/dog'.")
        sets = tagging.stored_sets(self._catalog)
        if set_name:
            for set_id, ps in sets:
                if ps.name == set_name:
                    if ps.label(name) is None:
                        raise UsageError(f"The prompt set {set_name!r} has no label {name!r}; its labels: "
                                         f"{', '.join(lab.name for lab in ps.labels)}.")
                    return set_id, name, ps
            if set_name != tagging.MANUAL_SET:
                raise UsageError(f"There is no prompt set named {set_name!r}; 'tags list' shows them.")
            return tagging.manual_set_id(self._catalog), name, None
        owners = [(i, ps) for i, ps in sets if ps.label(name) is not None]
        if len(owners) > 1:
            raise UsageError(f"The label {name!r} is in several prompt sets ("
                             f"{', '.join(ps.name for _, ps in owners)}); write it as SET/{name}.")
        if owners:
            return owners[0][0], name, owners[0][1]
        return tagging.manual_set_id(self._catalog), name, None

    def accept(self, label: str, photo_paths: Iterable[str | os.PathLike[str]], retag: bool = True) -> None:
        """Confirm *label* on photos; never overwritten by automatic tagging, and training for the
        set's few-shot refinement (the set is re-tagged unless *retag* is False)."""
        self._judge(label, photo_paths, True, retag)

    def reject(self, label: str, photo_paths: Iterable[str | os.PathLike[str]], retag: bool = True) -> None:
        """Refuse *label* on photos (the tag disappears and never comes back automatically)."""
        self._judge(label, photo_paths, False, retag)

    def _judge(self, label: str, photo_paths, accepted: bool, retag: bool) -> None:
        ids = [self._org.photo_id(p) for p in photo_paths]
        if not ids:
            raise UsageError("Name at least one photo.")
        set_id, name, prompt_set = self._resolve(label)
        with self._org.library._write_lock:  # noqa: SLF001
            tagging.set_manual(self._catalog, set_id, name, ids, accepted)
            if prompt_set is not None and retag:
                self._org.tag(self._org.set_model(set_id, prompt_set))

    def export_xmp(self, photo_paths: Sequence[str | os.PathLike[str]] | None = None,
                   min_score: float | None = None) -> dict:
        """Write the tags to XMP sidecars beside the photos (merging existing sidecars; originals are
        never touched). Returns {written, unchanged, failed: [{path, reason}]}."""
        from photosense.core import xmp

        if photo_paths:
            ids = [self._org.photo_id(p) for p in photo_paths]
        else:
            ids = [r[0] for r in rows(self._catalog, "SELECT DISTINCT photo_id FROM tags WHERE rejected = 0")]
        tags = tagging.tags_of(self._catalog, ids)
        found = self._org.paths_of(ids)
        report = {"written": 0, "unchanged": 0, "failed": []}
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


class Albums:
    """Smart and manual albums of a library (``library.albums``)."""

    def __init__(self, org: Organizer) -> None:
        self._org = org
        self._catalog = org.catalog

    def create(self, name: str, description: str | None = None, filters: Filters | dict | None = None, *,
               manual: bool = False, threshold: float | None = None) -> album_store.Album:
        """Create an album. Smart (default): *description* is a query (the search language works, so a
        saved search is an album) plus optional *filters*; it fills with the photos above the
        relevance cut-off now and whenever photos are indexed later. Manual: only pinned photos."""
        filters = filters if isinstance(filters, Filters) else Filters.from_json(filters)
        if description is not None:
            parse(description)  # a bad query fails before anything is stored
        kind = album_store.MANUAL if manual else album_store.SMART
        with self._org.library._write_lock:  # noqa: SLF001
            album_store.create(self._catalog, name, kind, description, filters, threshold)
            album = album_store.get(self._catalog, " ".join(name.split()))
            self._org.match(album)
        return album_store.get(self._catalog, album.name)

    def save_search(self, name: str, query: str) -> album_store.Album:
        """A smart album from the current search query (filters included)."""
        return self.create(name, description=query)

    def list(self) -> list[album_store.Album]:
        """Every album with its photo count."""
        return album_store.all_albums(self._catalog)

    def get(self, name: str) -> album_store.Album:
        """One album by name."""
        return album_store.get(self._catalog, name)

    def photos(self, name: str, limit: int | None = None) -> list[Hit]:
        """The album's photos, best first (score: cosine to the description; 1.0 for manual albums)."""
        album = self.get(name)
        out = []
        for pid, path, score, _ in album_store.members(self._catalog, album.id)[:limit]:
            out.append(Hit(pid, path, 1.0 if score is None else float(score)))
        return out

    def delete(self, name: str) -> None:
        """Delete an album (never its photos)."""
        album_store.delete(self._catalog, self.get(name).id)

    def edit(self, name: str, *, new_name: str | None = None, description: str | None = None,
             filters: Filters | dict | None = None) -> album_store.Album:
        """Rename an album or change what a smart album collects (its matches are recomputed)."""
        album = self.get(name)
        if description is not None:
            parse(description)
        if filters is not None and not isinstance(filters, Filters):
            filters = Filters.from_json(filters)
        with self._org.library._write_lock:  # noqa: SLF001
            album_store.update(self._catalog, album.id, name=new_name, description=description, filters=filters)
            album = self.get(" ".join(new_name.split()) if new_name else name)
            if description is not None or filters is not None:
                self._org.match(album)
        return self.get(album.name)

    def pin(self, name: str, photo_paths: Iterable[str | os.PathLike[str]]) -> None:
        """Put photos in an album for good (also "add to album" for manual albums)."""
        album = self.get(name)
        ids = [self._org.photo_id(p) for p in photo_paths]
        scores = {}
        if album.kind == album_store.SMART and album.description:
            compiled = self._org.compile(parse(album.description))
            if compiled.vector is not None:
                embedded = [i for i in ids if i in self._org.library.vectors()]
                if embedded:
                    scores = dict(zip(embedded, (self._org.vectors_of(embedded) @ compiled.vector).tolist()))
        album_store.set_state(self._catalog, album.id, ids, album_store.PINNED, scores)

    add = pin

    def exclude(self, name: str, photo_paths: Iterable[str | os.PathLike[str]]) -> None:
        """Keep photos out of an album for good (a smart album never re-adds them)."""
        album = self.get(name)
        album_store.set_state(self._catalog, album.id, [self._org.photo_id(p) for p in photo_paths],
                              album_store.EXCLUDED)

    def reset(self, name: str, photo_paths: Iterable[str | os.PathLike[str]]) -> None:
        """Undo pins and excludes: the album's own matching decides again."""
        album = self.get(name)
        ids = [self._org.photo_id(p) for p in photo_paths]
        album_store.unset(self._catalog, album.id, ids)
        self._org.match(album, np.asarray(ids, np.int64))

    def excluded(self, name: str) -> list[str]:
        """Paths of the photos excluded from an album."""
        ids = album_store.states(self._catalog, self.get(name).id, album_store.EXCLUDED)
        return sorted(self._org.paths_of(ids).values())

    def of(self, path: str | os.PathLike[str]) -> list[str]:
        """Names of the albums a photo is shown in."""
        pid = self._org.photo_id(path)
        return [r[0] for r in rows(self._catalog, "SELECT a.name FROM albums a JOIN album_photos ap ON "
                                                  "ap.album_id = a.id WHERE ap.photo_id = ? AND ap.state != "
                                                  "'excluded' ORDER BY a.name", (pid,))]
