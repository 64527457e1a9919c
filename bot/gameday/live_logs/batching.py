"""Lines into batches: each line read from a source is counted, cut, matched against the step's
``match``, and the first ``SHOWN_LINES`` that match in an interval are kept for the next message; the
rest are counted as not shown. Memory stays bounded however noisy the source (20 lines and counters),
and the readers (one thread per pod) share one ``Batcher``, so it takes a lock.

What a person reads is made here too: credentials redacted (``bot/gameday/measuring/redaction``) before
a line is cut to ``SHOWN_CHARS``, control characters replaced, and ``` broken so a line cannot end the
code block. Slack's own escaping (``&``, ``<``, ``>``) is the announcer's, as for every text it posts.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field

from bot.gameday.measuring.redaction import redact
from bot.gameday.scenario.log_sources import MATCH_LINE_MAX

SHOWN_LINES = 20
SHOWN_CHARS = 300
STREAM_CHARS = 63  # a pod name is at most 63 characters
READ_LINE_MAX = MATCH_LINE_MAX  # what a reader keeps of one line, however long it was
_FENCE = re.compile(r"`{3,}")


@dataclass(frozen=True)
class LogLine:
    stream: str  # where it came from: a pod's name, a Loki stream's label
    text: str


@dataclass
class Batch:
    """What one interval brought: the lines to show, and how many were seen, matched and not shown."""

    lines: list[LogLine] = field(default_factory=list)
    seen: int = 0
    matched: int = 0
    not_shown: int = 0
    problems: list[str] = field(default_factory=list)  # sentences, each said once in the thread
    fatal: str | None = None  # the source cannot go on: why


class Batcher:
    """Filled by the readers (``offer``, ``problem``, ``fail``), emptied by the timer (``take``)."""

    def __init__(self, match: str | None, shown: int = SHOWN_LINES):
        self.pattern = re.compile(match) if match else None
        self.shown = shown
        self._lock = threading.Lock()
        self._batch = Batch()
        self._said: set[str] = set()
        self._fatal: str | None = None

    def offer(self, stream: str, text: str) -> None:
        """One line as read (a trailing line break is dropped; anything past READ_LINE_MAX is cut)."""
        text = text[:READ_LINE_MAX].rstrip("\r\n")
        kept = self.pattern is None or self.pattern.search(text) is not None
        with self._lock:
            batch = self._batch
            batch.seen += 1
            if not kept:
                return
            batch.matched += 1
            if len(batch.lines) < self.shown:
                batch.lines.append(LogLine(stream[:STREAM_CHARS], text))
            else:
                batch.not_shown += 1

    def problem(self, sentence: str) -> None:
        """A source's trouble, said once however often it recurs."""
        with self._lock:
            if sentence not in self._said:
                self._said.add(sentence)
                self._batch.problems.append(sentence)

    def fail(self, sentence: str) -> None:
        """The source cannot go on (refused, gone): the timer stops following at its next look."""
        with self._lock:
            self._fatal = self._fatal or sentence

    def seen(self) -> int:
        """Lines read since the last ``take``."""
        with self._lock:
            return self._batch.seen

    def take(self) -> Batch:
        with self._lock:
            batch, self._batch = self._batch, Batch()
            batch.fatal = self._fatal
        return batch


def shown_line(line: LogLine) -> str:
    """``[pod] text`` as the thread shows it: redacted first (a cut must not split a secret out of sight
    of the redaction), then control characters replaced, code fences broken, cut to SHOWN_CHARS."""
    text = redact(line.text)
    text = "".join(
        " " if char == "\t" else "\ufffd" if unicodedata.category(char).startswith("C") else char
        for char in text
    )
    text = _FENCE.sub(lambda m: "'" * len(m[0]), text)
    if len(text) > SHOWN_CHARS:
        text = text[: SHOWN_CHARS - 1] + "…"
    stream = _FENCE.sub("'''", redact(line.stream))
    return f"[{stream}] {text}" if stream else text


def batch_text(source: str, batch: Batch, match: str | None) -> str:
    """One message for one interval's lines: a sentence, the lines in a code block, what was left out."""
    matching = " matching `" + match.replace("`", "'") + "`" if match else ""
    count = f"{batch.matched} line{'s' if batch.matched != 1 else ''}"
    head = f"Logs from {source}{matching}: {count} in the last interval"
    body = "\n".join(shown_line(line) for line in batch.lines)
    text = f"{head}\n```\n{body}\n```"
    if batch.not_shown:
        text += f"\n+{batch.not_shown} more line{'s' if batch.not_shown != 1 else ''} not shown."
    return text
