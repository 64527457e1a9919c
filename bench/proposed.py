"""The bot changes this harness proposes, applied as patches so their effect can be measured before they
are made (`python -m bench --proposed`). Bench-only and opt-in: `make bench` never applies them, and
once the bot carries a change, its patch here is to be deleted (they patch private names and break as the
bot moves). None changes what the bot records, only when and how often it does the work.
"""

from __future__ import annotations

from collections.abc import Callable

# name -> a function that patches the bot in this process; empty while the bot carries every change the
# benchmarks argued for (the inbox, the status line, timer lanes, the publish lane: all in the bot now)
ALL: dict[str, Callable[[], None]] = {}


def apply(names: list[str] | None = None) -> list[str]:
    chosen = names or list(ALL)
    for name in chosen:
        ALL[name]()
    return chosen
