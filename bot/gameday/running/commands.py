"""The `/sce` command language, parsed into a typed command or a sentence saying what would work."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from bot.gameday.people.mentions import TEXT_LIMIT, literal

USAGE = {
    "help": "/sce help",
    "list": "/sce list",
    "start": "/sce start <scenario> [oncall=@user] [secondary=@user] [dry-run]",
    "status": "/sce status",
    "oncall": "/sce oncall [rotation]",
    "pause": "/sce pause",
    "resume": "/sce resume",
    "next": "/sce next",
    "role": "/sce role commander|comms @user",
    "end": "/sce end",
    "abort": "/sce abort [reason]",
    "note": "/sce note <text>",
    "gap": "/sce gap <text>",
    "detected": "/sce detected",
    "contain": "/sce contain",
    "debrief": "/sce debrief [latest|id]",
    "history": "/sce history <scenario>",
    "schedule": (
        "/sce schedule <scenario> <YYYY-MM-DD> <HH:MM> [#channel] [every 90d | rrule=FREQ=WEEKLY;BYDAY=MO] "
        "| list | cancel <id>"
    ),
    "findings": "/sce findings [open|mine|<scenario>]",
    "fixed": "/sce fixed F-<n> <note>",
    "ticket": "/sce ticket F-<n>",
    "approve-standing": "/sce approve-standing <scenario> [for 30d] | list",
    "revoke-standing": "/sce revoke-standing <scenario>",
    "halt": "/sce halt <reason>",
    "unhalt": "/sce unhalt",
}


ROLES = ("commander", "comms")


class CommandError(ValueError):
    """A command that cannot be run as typed; the message says what would work."""


@dataclass(frozen=True)
class Command:
    name: str
    args: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    flags: frozenset[str] = frozenset()
    rest: str = ""


def typed_id(word: str) -> str:
    """A game day or schedule id as people type or paste it: ``GD-1A2B``, `` `gd-1a2b` ``, ``gd-1a2b.``"""
    return word.strip().strip("`*_.,;:()[]'\"").lower()


def parse_command(text: str) -> Command:
    """Split ``/sce`` text into a subcommand, positional args, ``key=value`` options and flags.

    Only the first ``TEXT_LIMIT`` characters are read.
    """
    raw = text[:TEXT_LIMIT].strip()
    if not raw:
        return Command("help")
    try:
        words = shlex.split(raw)
    except ValueError:
        words = raw.split()
    name, tail = words[0].lower(), words[1:]
    if name not in USAGE:
        known = ", ".join(sorted(USAGE))
        raise CommandError(
            f"`{literal(words[0])}` is not an /sce command. Try one of: {known} (or `/sce help`)."
        )
    args: list[str] = []
    options: dict[str, str] = {}
    flags: set[str] = set()
    for word in tail:
        if "=" in word and not word.startswith("<"):
            key, _, value = word.partition("=")
            options[key.lower()] = value
        elif word.lower() in {"dry-run", "--dry-run", "dryrun"}:
            flags.add("dry-run")
        else:
            args.append(word)
    rest = raw[len(raw.split(maxsplit=1)[0]) :].strip()
    if name == "start" and not args:
        raise CommandError(f"Which scenario? Usage: `{USAGE['start']}`; `/sce list` shows the scenarios.")
    if name == "halt" and not rest:
        raise CommandError(f"Say why, for everyone whose game day stops. Usage: `{USAGE['halt']}`")
    if name in {"note", "gap"} and not rest:
        raise CommandError(f"Nothing to record. Usage: `{USAGE[name]}`")
    if name == "role" and (len(args) != 2 or args[0].lower() not in ROLES):
        raise CommandError(f"Usage: `{USAGE['role']}` (roles: {', '.join(ROLES)}).")
    return Command(name, args, options, frozenset(flags), rest)
