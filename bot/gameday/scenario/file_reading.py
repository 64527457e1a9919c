"""Reading a file someone else put in the scenarios folder, without trusting what it is.

A scenario or an attachment may be a FIFO (an open that waits for a writer forever), a device such as
/dev/zero (a read that never ends) or simply huge. So the file is opened with ``O_NONBLOCK``, must be a
regular file by ``fstat`` of that very descriptor, and at most ``limit`` + 1 bytes are ever read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bot.gameday.scenario.limits import size_words


class UnsafeFile(ValueError):
    """A file that is not read: the message is the end of a sentence whose subject is the file."""


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_regular_file(path: Path, limit: int, what: str = "a scenario file", follow: bool = True) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes; UnsafeFile otherwise.

    ``follow=False`` refuses a symbolic link as the last part of the path.
    """
    try:
        before = os.stat(path, follow_symlinks=follow)
    except OSError as exc:
        raise UnsafeFile(f"cannot be read ({exc.strerror})") from None
    if stat.S_ISLNK(before.st_mode):
        raise UnsafeFile("is a symbolic link; name the file it points to")
    kind = _kind(before.st_mode)
    if kind:  # a socket cannot even be opened: say what it is first
        raise UnsafeFile(f"is {kind}, not a regular file")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnsafeFile(f"cannot be read ({exc.strerror})") from None
    try:
        opened = os.fstat(fd)  # the file actually opened, whatever the path points to by now
        kind = _kind(opened.st_mode)
        if kind:
            raise UnsafeFile(f"is {kind}, not a regular file")
        too_large = UnsafeFile(f"is larger than {size_words(limit)}, the most {what} may be")
        if opened.st_size > limit:
            raise too_large
        chunks: list[bytes] = []
        remaining = limit + 1  # one byte more tells a file that grew since fstat
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        if remaining <= 0:
            raise too_large
        return b"".join(chunks)
    except OSError as exc:
        raise UnsafeFile(f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
