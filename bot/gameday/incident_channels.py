"""Which new Slack channels mean a real incident has started (``SCE_INCIDENT_CHANNELS``). Pure.

Teams open a channel per incident (``inc-2041-payments``); a new channel whose name matches one of the
configured globs pulls the halt lever. The setting is read strictly when `sce serve` starts, so a typo
is a sentence at start rather than a guard that silently never fires (or one that fires on every channel):

- comma-separated globs over channel names, at most ``MAX_GLOBS``; ``*`` is any run of characters, ``?``
  one character, anything else is literal;
- each glob only uses what a Slack channel name may hold (lowercase letters, digits, ``-`` and ``_``),
  at most ``MAX_GLOB_CHARS`` characters, and names at least ``MIN_LITERALS`` literal characters (``*``
  alone would halt everything whenever anyone opens a channel).

Matching is a linear-time wildcard walk (no regular expression, so no pattern can make it slow), on the
name as Slack sends it, lowercased and at most 80 characters (Slack's own ceiling).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_GLOBS = 20
MAX_GLOB_CHARS = 80
MAX_NAME_CHARS = 80
MIN_LITERALS = 2
_GLOB = re.compile(r"^[a-z0-9_\-*?]+$")


class IncidentChannelsError(ValueError):
    """SCE_INCIDENT_CHANNELS cannot be used; the message is one sentence naming it."""


def _wildcard(glob: str, name: str) -> bool:
    """Whether ``name`` matches ``glob`` (``*``, ``?``): the greedy walk that backs up to the last star."""
    g = n = 0
    star, mark = -1, 0
    while n < len(name):
        if g < len(glob) and glob[g] == "*":
            star, mark, g = g, n, g + 1
        elif g < len(glob) and glob[g] in ("?", name[n]):
            g, n = g + 1, n + 1
        elif star >= 0:
            mark += 1
            g, n = star + 1, mark
        else:
            return False
    while g < len(glob) and glob[g] == "*":
        g += 1
    return g == len(glob)


@dataclass(frozen=True)
class IncidentChannels:
    globs: tuple[str, ...]

    def match(self, name: object) -> str | None:
        """The glob a new channel's name matches, or None (also for a name that is no channel name)."""
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
            return None
        lowered = name.lower()
        return next((glob for glob in self.globs if _wildcard(glob, lowered)), None)


def parse_incident_channels(text: str | None) -> IncidentChannels | None:
    """The setting as written; None when unset (no channel halts anything). IncidentChannelsError else."""
    if text is None or not text.strip():
        return None
    globs = [part.strip().removeprefix("#").lower() for part in text.split(",")]
    if any(not glob for glob in globs):
        raise IncidentChannelsError(
            f"SCE_INCIDENT_CHANNELS: {text[:100]!r} has an empty entry between commas"
        )
    if len(globs) > MAX_GLOBS:
        raise IncidentChannelsError(f"SCE_INCIDENT_CHANNELS: {len(globs)} globs; at most {MAX_GLOBS}")
    for glob in globs:
        shown = repr(glob[: MAX_GLOB_CHARS + 1])
        if len(glob) > MAX_GLOB_CHARS:
            raise IncidentChannelsError(
                f"SCE_INCIDENT_CHANNELS: {shown} is longer than {MAX_GLOB_CHARS} characters"
            )
        if not _GLOB.match(glob):
            raise IncidentChannelsError(
                f"SCE_INCIDENT_CHANNELS: {shown} may only hold what a channel name holds (a-z, 0-9, - and _) "
                "and the wildcards * and ?, such as inc-*"
            )
        if sum(1 for c in glob if c not in "*?") < MIN_LITERALS:
            raise IncidentChannelsError(
                f"SCE_INCIDENT_CHANNELS: {shown} would match almost every new channel; name at least "
                f"{MIN_LITERALS} characters of it, such as inc-*"
            )
    return IncidentChannels(tuple(dict.fromkeys(globs)))
