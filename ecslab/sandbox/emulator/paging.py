"""One way the emulator's answers page, as AWS's list and describe operations do.

A page holds at most `limit` items (the caller's MaxResults, capped at the operation's
maximum); the token for the next page is an opaque string, here the offset of the next
item. A token the emulator did not hand out is refused the way AWS refuses it (the
operation's own invalid-token error, raised by the caller from `BadToken`).
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
