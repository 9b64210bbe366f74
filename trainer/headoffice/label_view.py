"""What the Label page shows of collect's placements for review (``DIR/unlabelled.csv``), however many a fleet sends:
pages of :data:`PER_PAGE`, newest first, of one store or all, those head office has not labelled yet (``todo``) or all
of them with their labels. The query comes as text and is parsed here: a value that does not parse is a one-line
notice and its default, never a 422; a page past the end is the last page.

With ``DIR/clusters.csv`` (``checkout feedback cluster``) the page has a second view, ``view=groups``
(:func:`groups_of`): :data:`GROUPS_PER_PAGE` blocks a page, a group of crops that look alike each, largest first, then
the crops alone; a group is labelled at once (:func:`group_keys`). clusters.csv is made at one moment: its rows no
longer in unlabelled.csv are left out, and the crops it does not know yet are counted in a notice.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import urlencode

__all__ = ["GROUPS_PER_PAGE", "PER_PAGE", "LabelQuery", "Review", "group_keys", "groups_of", "page_of", "parse_query",
           "review_of"]

PER_PAGE = 50
GROUPS_PER_PAGE = 20
THUMBS = 12  # crops shown of a group
SHOWS = ("todo", "all")
VIEWS = ("list", "groups")
ALONE, NOT_GROUPED = -1, -2  # the clusters of a crop alone and of one `--max-crops` left out
_PAGE = re.compile(r"[0-9]{1,9}\Z")


@dataclass(frozen=True)
class Review:
    """unlabelled.csv as parsed once: the rows with a crop (newest first), every row by (store, kiosk, placement_id)
    (the first of a placement listed twice), and the stores of the rows with a crop."""
    rows: list[dict[str, str]]
    by_key: dict[tuple[str, str, str], dict[str, str]]
    stores: list[str]


def key_of(row: Mapping[str, str]) -> tuple[str, str, str]:
    return row["store"], row["kiosk"], row["placement_id"]


def review_of(rows: list[dict[str, str]]) -> Review:
    by_key: dict[tuple[str, str, str], dict[str, str]] = {}
    for row in rows:
        by_key.setdefault(key_of(row), row)
    crops = sorted((r for r in rows if r["path"]), key=lambda r: _instant(r["time"]), reverse=True)
    return Review(crops, by_key, sorted({r["store"] for r in crops}))


@dataclass(frozen=True)
class LabelQuery:
    page: int = 1
    store: str = ""  # "": every store
    show: str = "todo"  # or "all"
    view: str = "list"  # or "groups" (store and show do not apply)

    def url(self) -> str:
        """This page of the Label page (``/label`` for the first of every store's rows still to label)."""
        if self.view == "groups":
            return f"/label?{urlencode({'view': 'groups', **({'page': self.page} if self.page > 1 else {})})}"
        query = {name: value for name, value, default in (("page", self.page, 1), ("store", self.store, ""),
                                                         ("show", self.show, "todo")) if value != default}
        return f"/label?{urlencode(query)}" if query else "/label"


def parse_query(page: str, store: str, show: str, stores: Collection[str], view: str = "") -> tuple[LabelQuery, str]:
    """The query of the text values ``page``, ``store`` (one of ``stores``), ``show`` and ``view``, and a one-line
    notice of the ones that do not parse ("" when all do)."""
    problems = []
    number = int(page) if _PAGE.match(page) else 0
    if page and number < 1:
        problems.append(f"page {page[:20]!r} is not a page number: the first page is shown")
    if store and store not in stores:
        problems.append(f"store {store[:40]!r} has no placements for review: every store is shown")
    if show and show not in SHOWS:
        problems.append(f"show {show[:20]!r} is not one of {', '.join(SHOWS)}: todo is shown")
    if view and view not in VIEWS:
        problems.append(f"view {view[:20]!r} is not one of {', '.join(VIEWS)}: the list is shown")
    query = LabelQuery(max(number, 1), store if store in stores else "", show if show in SHOWS else "todo",
                       view if view in VIEWS else "list")
    return query, "; ".join(problems)


def page_of(review: Review, labels: Mapping[tuple[str, str, str], object], query: LabelQuery) -> dict:
    """The page ``query`` asks for (the last one past the end): its rows, each with head office's label (``given``)
    and the value of its checkbox (``pick``), the query of the page shown, "rows 51–100 of 1,234", and the links to
    the pages before and after it ("" at either end)."""
    chosen = [r for r in review.rows if (not query.store or r["store"] == query.store)
              and (query.show == "all" or key_of(r) not in labels)]
    pages = max(1, -(-len(chosen) // PER_PAGE))
    shown = replace(query, page=min(query.page, pages))
    first = (shown.page - 1) * PER_PAGE
    rows = [{**r, "given": labels.get(key_of(r)), "pick": pick_of(key_of(r))} for r in chosen[first:first + PER_PAGE]]
    span = f"rows {first + 1:,}–{first + len(rows):,} of {len(chosen):,}" if rows else "no rows"
    return {"rows": rows, "query": shown, "span": span,
            "previous": replace(shown, page=shown.page - 1).url() if shown.page > 1 else "",
            "next": replace(shown, page=shown.page + 1).url() if shown.page < pages else ""}


def groups_of(review: Review, labels: Mapping[tuple[str, str, str], object], rows: list[dict],
              query: LabelQuery) -> dict:
    """The page of groups ``query`` asks for, of the parsed clusters.csv ``rows`` (:func:`trainer.fleet.clusters.
    read_clusters`) against unlabelled.csv now: ``items`` (each group of crops still for review, largest first, then
    each crop alone), the page shown, "1–20 of 55 groups and 27 crops alone", the links before and after, and a
    one-line ``groups_notice`` of the crops clusters.csv does not know (arrived since) or left ungrouped."""
    members: dict[int, list[dict]] = {}
    known, older = set(), 0
    for r in rows:
        known.add(key_of(r))
        if key_of(r) not in review.by_key:  # labelled, and taken up by a collect since the groups were made
            continue
        if r["cluster"] == NOT_GROUPED:
            older += 1
        else:
            members.setdefault(r["cluster"], []).append(r)
    groups = sorted((c for c in members if c >= 0), key=lambda c: (-len(members[c]), c))
    alone = members.get(ALONE, [])
    items = [_group(c, members[c], labels) for c in groups] + [_alone(r, review, labels) for r in alone]
    pages = max(1, -(-len(items) // GROUPS_PER_PAGE))
    shown = replace(query, page=min(query.page, pages))
    first = (shown.page - 1) * GROUPS_PER_PAGE
    page = items[first:first + GROUPS_PER_PAGE]
    both = f"{_many(len(groups), 'group')} and {_many(len(alone), 'crop')} alone"
    span = (both if pages == 1 else f"{first + 1:,}–{first + len(page):,} of {both}") if page else "no groups"
    arrived = sum(1 for r in review.rows if key_of(r) not in known)
    notices = [f"{arrived:,} crop{'s' if arrived != 1 else ''} arrived since the groups were made: run `checkout "
               "feedback cluster` again"] if arrived else []
    if older:
        notices.append(f"{older:,} older crops were not grouped (--max-crops): label them in the list")
    return {"items": page, "query": shown, "span": span, "groups_notice": "; ".join(notices),
            "previous": replace(shown, page=shown.page - 1).url() if shown.page > 1 else "",
            "next": replace(shown, page=shown.page + 1).url() if shown.page < pages else ""}


def _group(cluster: int, members: list[dict], labels: Mapping[tuple[str, str, str], object]) -> dict:
    """A group's block: its size, how many head office labelled, the hint (the SKU most of its crops look like, with
    their mean score) and up to :data:`THUMBS` crops, those still to label first."""
    from collections import Counter

    todo = [m for m in members if key_of(m) not in labels]
    hint = Counter(m["nearest_sku"] for m in members).most_common(1)[0][0]
    scores = [m["nearest_score"] for m in members if m["nearest_sku"] == hint]
    thumbs = (todo + [m for m in members if key_of(m) in labels])[:THUMBS]
    return {"cluster": cluster, "size": len(members), "todo": len(todo), "labelled": len(members) - len(todo),
            "hint": hint, "score": sum(scores) / len(scores),
            "thumbs": [{"placement_id": m["placement_id"], "photo": _photo(key_of(m)), "given": key_of(m) in labels}
                       for m in thumbs]}


def _alone(row: dict, review: Review, labels: Mapping[tuple[str, str, str], object]) -> dict:
    """A crop alone: its unlabelled.csv row with head office's label (``given``) and its hint."""
    return {**review.by_key[key_of(row)], "cluster": ALONE, "hint": row["nearest_sku"],
            "score": row["nearest_score"], "given": labels.get(key_of(row)), "photo": _photo(key_of(row))}


def group_keys(review: Review, labels: Mapping[tuple[str, str, str], object], rows: list[dict],
               cluster: int) -> list[tuple[str, str, str]]:
    """The placements a group's form labels: those of group ``cluster`` still in unlabelled.csv and not labelled
    yet."""
    return [key_of(r) for r in rows if r["cluster"] == cluster and key_of(r) in review.by_key
            and key_of(r) not in labels]


def _many(n: int, what: str) -> str:
    return f"{n:,} {what}{'s' if n != 1 else ''}"


def _photo(key: tuple[str, str, str]) -> str:
    """The query of a placement's crop (``/label/photo.png?…``)."""
    return urlencode({"store": key[0], "kiosk": key[1], "placement": key[2]})


def pick_of(key: tuple[str, str, str]) -> str:
    """The value of a row's checkbox in the bulk form: ``store=S&kiosk=K&placement=P``."""
    return urlencode({"store": key[0], "kiosk": key[1], "placement": key[2]})


def picked(value: str) -> tuple[str, str, str] | None:
    """The placement a checkbox value of :func:`pick_of` names (None: it names none)."""
    from urllib.parse import parse_qs

    try:
        got = parse_qs(value, keep_blank_values=True, strict_parsing=True, max_num_fields=3)
    except ValueError:
        return None
    if sorted(got) != ["kiosk", "placement", "store"] or any(len(v) != 1 for v in got.values()):
        return None
    return got["store"][0], got["kiosk"][0], got["placement"][0]


def _instant(text: str) -> datetime:
    """A placement's time as an instant, for ordering (one that does not read: the oldest)."""
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
