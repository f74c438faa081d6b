"""The search query language: weighted +/- terms and folder:/after:/before:/tag:/camera:/text: filters."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from datetime import date

from photosense.core.errors import UsageError

HELP = """\
Describe what you are looking for: beach sunset
  -word      leave out photos that show it: beach -people
  +word      a separate term, ranked together with the rest: dog +snow
  word:2     weigh a term (also -word:2, "two words":0.5); weights are 0.1 to 10
  "a b"      quotes keep words together as one term or one filter value
Filters (combine freely; the same filter twice means either value, tag: means all):
  folder:Holidays    photos in a folder whose name starts with this (or under it, if a full path)
  after:2023-06      taken on or after a date (YYYY, YYYY-MM or YYYY-MM-DD)
  before:2024        taken before a date (photos without a date use the file's date)
  tag:dog            photos tagged dog (or tag:subjects/dog for one prompt set)
  camera:pixel       photos from a camera whose name contains this
  kind:video         only videos (kind:photo: only photos)
  text:4471          photos whose recognized text contains a word (text:"two words": the phrase)
Words typed are also looked up in the text in photos, file and folder names, tags and cameras: a
photo holding every word comes first; -word also leaves out photos holding the word.
Only photos that match better than their background are shown; "show all" lists the rest too."""

FILTER_KEYS = ("folder", "after", "before", "tag", "camera", "kind", "text")
KINDS = {"photo": "photo", "photos": "photo", "video": "video", "videos": "video"}
MAX_WEIGHT = 10.0
# "dog:2", "dog^2"; the term must not end in a digit, so a time such as 10:30 stays a word
_WEIGHT = re.compile(r"^(?P<term>.*[^\d\s:^])[:^](?P<weight>\d+(?:\.\d+)?|\.\d+)$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


@dataclass(frozen=True)
class Term:
    """A text term and its weight."""

    text: str
    weight: float = 1.0
    exact: bool = field(default=False, compare=False)  # typed in quotes: looked up as one phrase


@dataclass
class Filters:
    """Filters on the catalog (applied there: ``Catalog.filter_photo_ids``); empty lists mean no restriction."""

    folders: list[str] = field(default_factory=list)
    after: str | None = None  # ISO date, inclusive
    before: str | None = None  # ISO date, exclusive
    tags: list[str] = field(default_factory=list)  # "label" or "set/label"
    cameras: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # "photo" and/or "video"
    texts: list[str] = field(default_factory=list)  # words or phrases in the recognized text (all of them)

    def __bool__(self) -> bool:
        return bool(self.folders or self.after or self.before or self.tags or self.cameras or self.kinds
                    or self.texts)

    def to_json(self) -> dict:
        """The stored form (album filters)."""
        out: dict = {}
        for key in ("folders", "after", "before", "tags", "cameras", "kinds", "texts"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out

    @classmethod
    def from_json(cls, data: dict | None) -> Filters:
        """Back from :meth:`to_json`."""
        data = data or {}
        return cls(list(data.get("folders", [])), data.get("after"), data.get("before"),
                   list(data.get("tags", [])), list(data.get("cameras", [])), list(data.get("kinds", [])),
                   list(data.get("texts", [])))

    def merged(self, other: Filters) -> Filters:
        """Both sets of filters (lists joined; the narrower date range)."""
        return Filters(self.folders + other.folders,
                       max(filter(None, (self.after, other.after)), default=None),
                       min(filter(None, (self.before, other.before)), default=None),
                       self.tags + other.tags, self.cameras + other.cameras, self.kinds + other.kinds,
                       self.texts + other.texts)


@dataclass
class Query:
    """A parsed query: positive and negative terms, and filters."""

    positive: list[Term] = field(default_factory=list)
    negative: list[Term] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)

    @property
    def has_terms(self) -> bool:
        return bool(self.positive)


def _date_bound(value: str, key: str, end: bool) -> str:
    """"2023" -> "2023-01-01" (after:) or "2024-01-01" (before:2023 means before 2023 began)."""
    m = _DATE.match(value.strip())
    if not m:
        raise UsageError(f"{key}:{value} is not a date; write YYYY, YYYY-MM or YYYY-MM-DD (e.g. {key}:2023-06).")
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        raise UsageError(f"{key}:{value} is not a valid date.") from None


def _split(text: str) -> list[str]:
    try:
        lexer = shlex.shlex(text, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        return list(lexer)
    except ValueError:  # an unclosed quote: treat the quote as a plain character
        return text.replace('"', " ").replace("'", " ").split()


def parse(text: str) -> Query:
    """Parse a query (see :data:`HELP`). Consecutive plain words form one term ("beach sunset")."""
    query = Query()
    phrase: list[str] = []

    def flush() -> None:
        if phrase:
            query.positive.append(Term(" ".join(phrase)))
            phrase.clear()

    for token in _split(text):
        if not token:
            continue  # "" (an empty quoted term)
        key, sep, value = token.partition(":")
        if sep and key.lower() in FILTER_KEYS:
            flush()
            if not value:
                raise UsageError(f"{key}: needs a value, e.g. {key}:{'2023' if key in ('after', 'before') else 'x'}.")
            k = key.lower()
            if k == "folder":
                query.filters.folders.append(value)
            elif k == "after":
                query.filters.after = max(filter(None, (query.filters.after, _date_bound(value, k, False))))
            elif k == "before":
                query.filters.before = min(filter(None, (query.filters.before, _date_bound(value, k, True))))
            elif k == "tag":
                query.filters.tags.append(value)
            elif k == "kind":
                if value.lower() not in KINDS:
                    raise UsageError(f"kind:{value} is not a kind; write kind:photo or kind:video.")
                query.filters.kinds.append(KINDS[value.lower()])
            elif k == "text":
                query.filters.texts.append(" ".join(value.split()))
            else:
                query.filters.cameras.append(value)
            continue
        sign = token[0] if token[0] in "+-" and len(token) > 1 else ""
        body = token[len(sign):]
        weight = 1.0
        m = _WEIGHT.match(body)
        if m:
            body, weight = m["term"], float(m["weight"])
            if not 0.1 <= weight <= MAX_WEIGHT:
                raise UsageError(f"The weight in {token!r} must be between 0.1 and {MAX_WEIGHT:g}.")
        body = " ".join(body.split())
        if not body:
            continue
        if sign == "-":
            flush()
            query.negative.append(Term(body, weight, exact=" " in body))
        elif sign == "+" or m or " " in body:
            flush()
            query.positive.append(Term(body, weight, exact=" " in body))
        else:
            phrase.append(body)
    flush()
    return query
