"""Stacks in results (Qt-free, no SQL): duplicate groups and bursts merged into stacks, and folding a list.

A *stack* is what results show as one photo: an exact or near duplicate group, or a burst together with
the copies of its shots (a burst is chained over the keepers of duplicate groups, so its shots' copies
belong to it too). Members are ranked: the keeper of the burst (or of the group) first, then the rest in
keeper preference, so rank 0 is the stack's cover in a listing.

Folding keeps one item per stack and tells how many it stands for:

- ``cover="best"`` (search, similar, smart albums: lists ordered best first): the best-scoring member
  stands for the stack (on a tie, the better ranked: an original before its byte copies), and the
  members after it are folded into it;
- ``cover="keeper"`` (the grid, filter-only queries, manual albums: no score to go by): the member with the
  best rank among those listed stands for it, at its own place.

A stack's count is how many of its members the list could show (in the list, or allowed by the query's
filters), so a hit never stands for a photo that its query leaves out. Folding never loses a photo for
good: the stack's members are listed by expansion (``Library.stack``) and nothing is folded with stacking
off.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

SETTING = "results.stack"  # catalog setting: "on" (default) or "off"
KINDS = ("exact", "near", "burst")
TIE = 1e-3  # scores this close are a tie between members (fp16 vectors: byte copies score alike)


class GroupLike(Protocol):
    """What a duplicate group gives (``core.duplicates.Group``): its kind and ids, keeper first."""

    kind: str
    ids: list[int]


class StackLike(Protocol):
    """What a stored stack gives (``core.catalog.StackRows``): its member ids by rank."""

    members: list[int]


def merge_groups(groups: Iterable[GroupLike]) -> list[tuple[int, str, list[int]]]:
    """Stacks from duplicate groups and bursts: groups that share a member are one stack. Returns
    (stack id: the smallest member id, kind: "burst" when a burst is in it, member ids by rank)."""
    groups = [g for g in groups if len(g.ids) > 1]
    parent = list(range(len(groups)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[int, int] = {}
    for n, g in enumerate(groups):
        for pid in g.ids:
            if pid in owner:
                parent[find(n)] = find(owner[pid])
            else:
                owner[pid] = n
    merged: dict[int, list[GroupLike]] = {}
    for n, g in enumerate(groups):
        merged.setdefault(find(n), []).append(g)
    out = []
    for parts in merged.values():
        # the burst leads (its keeper is the cover), then each duplicate group, larger first
        parts.sort(key=lambda g: (g.kind != "burst", g.kind != "near", -len(g.ids), g.ids[0]))
        order: list[int] = []
        seen: set[int] = set()
        for g in parts:
            order += [pid for pid in g.ids if pid not in seen]
            seen.update(g.ids)
        kind = parts[0].kind if parts[0].kind in KINDS else "near"
        out.append((min(order), kind, order))
    out.sort()
    return out


def fold(order: Sequence[int], stacks: Mapping[int, StackLike], *, cover: str = "best",
         allowed: Callable[[int], bool] | None = None,
         scores: Sequence[float] | None = None) -> list[tuple[int, int]]:
    """(item id, how many items it stands for) for the items of *order* (ints) that stay, in order.

    *stacks*: stack id -> members by rank (at least the stacks of the items of *order*). *allowed*: which
    members, besides those listed, the list could show (None: every member; ``cover="keeper"`` counts
    only the listed ones, a listing being complete). *scores* (of *order*): members scoring within
    ``TIE`` of the best one are a tie (byte copies share their vector), won by the better ranked, so a
    copy never stands for its original by chance; the stack keeps the best one's place."""
    if not stacks:
        return [(i, 1) for i in order]
    listed = set(order)
    if cover == "keeper":  # one pass: a listing can be the whole library
        dropped, stands = keeper_plan(listed, stacks)
        return [(i, stands.get(i, 1)) for i in order if i not in dropped]
    score_of = dict(zip(order, scores)) if scores is not None else {}
    stack_of: dict[int, tuple[int, int]] = {}  # listed member -> (stack id, count)
    covers: dict[int, int] = {}
    for sid, stack in stacks.items():
        shown = [m for m in stack.members if m in listed or allowed is None or allowed(m)]
        if len(shown) > 1:
            here = [m for m in stack.members if m in listed]
            stack_of.update((m, (sid, len(shown))) for m in here)
            if score_of and here:
                best = max(score_of[m] for m in here)
                covers[sid] = next(m for m in here if score_of[m] >= best - TIE)
    out: list[tuple[int, int]] = []
    taken: set[int] = set()
    for i in order:
        sid, count = stack_of.get(i, (None, 1))
        if sid is None:
            out.append((i, 1))
        elif sid not in taken:
            taken.add(sid)
            out.append((covers.get(sid, i), count))
    return out


def keeper_plan(listed: set[int], stacks: Mapping[int, StackLike]) -> tuple[set[int], dict[int, int]]:
    """How a complete listing folds (``cover="keeper"``): (the listed ids that go, cover id -> its count), so
    a caller can filter its own rows without building new ones."""
    dropped: set[int] = set()
    stands: dict[int, int] = {}
    for stack in stacks.values():
        shown = [m for m in stack.members if m in listed]
        if len(shown) > 1:
            stands[shown[0]] = len(shown)
            dropped.update(shown[1:])
    return dropped, stands


def parse_setting(value: str | None) -> bool:
    """The stored setting as a switch (stacking is on unless turned off)."""
    return (value or "on").strip().lower() not in ("off", "0", "false", "no")
