"""The offending value, quoted in an error message: up to 60 characters, so a person recognises what they typed."""

from __future__ import annotations

SHOWN = 60


def quoted(value: str, limit: int = SHOWN) -> str:
    """`'2026-13-45'`; a longer value is cut at `limit` characters with an ellipsis inside the quotes."""
    return repr(value if len(value) <= limit else value[: limit - 1] + "…")
