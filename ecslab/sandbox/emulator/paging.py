"""One way the emulator's answers page, as AWS's list and describe operations do.

A page holds at most `limit` items (the caller's MaxResults, capped at the operation's
maximum); the token for the next page is an opaque string, here the offset of the next
item (`page`), or for a list shown newest first that grows at that end, the count of
items still to come (`page_newest_first`), which a newer item does not shift. A token the
emulator did not hand out is refused the way AWS refuses it (the operation's own
invalid-token error, raised by the caller from `BadToken`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class BadToken(ValueError):
    """A next token that this emulator did not give out."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


def page(items: Sequence[T], token: object, size: object, maximum: int) -> Page[T]:
    """The page of `items` that `token` (None: the first) and `size` (None: `maximum`) ask for."""
    try:
        start = int(str(token)) if token not in (None, "") else 0
        limit = min(int(str(size)), maximum) if size not in (None, "") else maximum
    except ValueError:
        raise BadToken(str(token)) from None
    if start < 0 or start > len(items) or limit < 1:
        raise BadToken(str(token))
    end = start + limit
    return Page(list(items[start:end]), str(end) if end < len(items) else None)


def page_newest_first(
    oldest_first: Sequence[T], token: object, size: object, maximum: int
) -> Page[T]:
    """`oldest_first` shown newest first, paged; a token counts the items still to come from
    the oldest end, so it stays valid while newer items arrive (events, history, activities)."""
    total = len(oldest_first)
    start = 0
    if token not in (None, ""):
        try:
            remaining = int(str(token))
        except ValueError:
            raise BadToken(str(token)) from None
        if not 0 < remaining <= total:
            raise BadToken(str(token))
        start = total - remaining
    found = page(list(reversed(oldest_first)), start, size, maximum)
    after = None if found.next_token is None else str(total - int(found.next_token))
    return Page(found.items, after)
