""" "Did you mean": the closest known names to one typed wrongly."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


def closest(typed: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` known names that look like ``typed`` (case aside), the likeliest first."""
    by_lower: dict[str, str] = {}
    for name in sorted(set(known)):
        by_lower.setdefault(name.lower(), name)
    found = difflib.get_close_matches(typed.lower(), list(by_lower), n=limit, cutoff=0.6)
    return [by_lower[name] for name in found]


def did_you_mean(typed: str, known: Iterable[str] | Mapping[str, str]) -> str:
    """A sentence to append (leading space included), or "" when nothing known is close.

    With a mapping, ``typed`` is compared with its keys and its values are shown (a file's stem
    compared, its name shown: ``.yaml`` alone makes no two names alike).
    """
    shown = known if isinstance(known, Mapping) else {name: name for name in known}
    names = [f"`{shown[name]}`" for name in closest(typed, shown)]
    if not names:
        return ""
    return f" Did you mean {names[0] if len(names) == 1 else ', '.join(names[:-1]) + ' or ' + names[-1]}?"
