"""What the Label page shows of collect's placements for review (``DIR/unlabelled.csv``), however many a fleet sends:
pages of :data:`PER_PAGE`, newest first, of one store or all, those head office has not labelled yet (``todo``) or all
of them with their labels. The query comes as text and is parsed here: a value that does not parse is a one-line
notice and its default, never a 422; a page past the end is the last page.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from urllib.parse import urlencode

__all__ = ["PER_PAGE", "LabelQuery", "Review", "page_of", "parse_query", "review_of"]

PER_PAGE = 50
SHOWS = ("todo", "all")
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

    def url(self) -> str:
        """This page of the Label page (``/label`` for the first of every store's rows still to label)."""
        query = {name: value for name, value, default in (("page", self.page, 1), ("store", self.store, ""),
                                                         ("show", self.show, "todo")) if value != default}
        return f"/label?{urlencode(query)}" if query else "/label"


def parse_query(page: str, store: str, show: str, stores: Collection[str]) -> tuple[LabelQuery, str]:
    """The query of the text values ``page``, ``store`` (one of ``stores``) and ``show``, and a one-line notice of
    the ones that do not parse ("" when all do)."""
    problems = []
    number = int(page) if _PAGE.match(page) else 0
    if page and number < 1:
        problems.append(f"page {page[:20]!r} is not a page number: the first page is shown")
    if store and store not in stores:
        problems.append(f"store {store[:40]!r} has no placements for review: every store is shown")
    if show and show not in SHOWS:
        problems.append(f"show {show[:20]!r} is not one of {', '.join(SHOWS)}: todo is shown")
    query = LabelQuery(max(number, 1), store if store in stores else "", show if show in SHOWS else "todo")
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
