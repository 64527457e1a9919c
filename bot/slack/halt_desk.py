"""`/sce halt <reason>` and `/sce unhalt`: admins (SCE_ADMINS) pull and lift the halt lever
(bot/runtime/halting.py). Anyone else is told who may; the answer is for the person who typed it, and
each game day the halt stops says so in its own thread."""

from __future__ import annotations

from bot.gameday.people.mentions import literal
from bot.runtime.service import Services

ADMINS_ONLY = (
    "Only admins (SCE_ADMINS) may halt or unhalt every game day. To stop this channel's game day, "
    "use `/sce abort [reason]`."
)


class HaltDesk:
    def __init__(self, services: Services):
        self.s = services

    def halt(self, user: str, reason: str) -> str:
        lever = self.s.halt
        if lever is None:
            return "This deployment has no halt lever."
        if not self.s.members.is_admin(user):
            return ADMINS_ONLY
        pulled = lever.pull(user, reason, "slack")
        stopped = ", ".join(f"`{gd}`" for gd in pulled.aborted) or "none was running"
        if not pulled.new:
            return (
                f"A halt already holds ({pulled.halt.said()}); nothing new was recorded. "
                f"Game days stopped now: {stopped}."
            )
        return (
            f":octagonal_sign: Halted: every game day stops and nothing starts, scheduled starts included, "
            f"until `/sce unhalt`. Game days stopped: {stopped}. Reason: {literal(pulled.halt.reason)}"
        )

    def unhalt(self, user: str) -> str:
        lever = self.s.halt
        if lever is None:
            return "This deployment has no halt lever."
        if not self.s.members.is_admin(user):
            return ADMINS_ONLY
        lifted = lever.lift(user)
        if lifted is None:
            return "No halt holds; game days may start."
        return f"The halt is lifted ({lifted.said()}); game days may start again."

    def status_line(self) -> str | None:
        """The halt, for `/sce status` and App Home; None when none holds."""
        lever = self.s.halt
        halt = lever.current() if lever is not None else None
        return halt.refusal() if halt is not None else None
