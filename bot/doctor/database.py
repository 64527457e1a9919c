"""The database: DATABASE_URL opens, and its schema's migration (read only: nothing is created)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from bot.config import data_dir
from bot.doctor.findings import Finding, Probe, fail, first_line, ok, warn
from storage.database import current_revision, head_revision, known_revisions, normalize_url


def check_database(probe: Probe) -> Iterator[Finding]:
    """That DATABASE_URL opens, and which migration its schema is at (read only: nothing is created)."""
    try:
        url = make_url(normalize_url(probe.settings.database_url))
    except ArgumentError:
        yield fail(
            "database",
            "DATABASE_URL is not a database URL (sqlite:///path/to/sce.db or postgresql://user:password@host/db)",
        )
        return
    shown = _without_password(make_url(probe.settings.database_url))
    relative = url.get_backend_name() == "sqlite" and url.database and not Path(url.database).is_absolute()
    if relative and url.database != ":memory:":
        shown += f" (here, {Path(str(url.database)).absolute()})"  # it depends on the folder sce runs in
    if url.get_backend_name() == "sqlite":
        absent = _no_sqlite_file(url, shown)
        if absent is not None:
            yield absent
            return
    engine = _read_only_engine(url, probe.timeout)
    try:
        revision = current_revision(engine)
    except (SQLAlchemyError, sqlite3.Error, OSError) as exc:
        yield fail("database", f"cannot open {shown}: {first_line(exc)}")
        return
    finally:
        engine.dispose()
    head = head_revision()
    if revision is None:
        yield ok("database", f"{shown} opens; it has no schema yet, and sce serve creates it at start")
    elif revision == head:
        yield ok("database", f"{shown} opens; its schema is at the newest migration ({head})")
    elif revision in known_revisions():
        yield warn(
            "database",
            f"{shown} is at migration {revision}, behind this version's {head}: sce serve migrates it at "
            "start (back it up first)",
        )
    else:
        yield fail(
            "database",
            f"{shown} is at migration {revision}, which this version of sce does not know: a newer sce "
            "migrated it, and going back is not supported",
        )


def _without_password(url: URL) -> str:
    """The URL as written, less its password (not even as ``***``): the user and host say which one."""
    bare = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
    return bare.render_as_string(hide_password=False)


def _no_sqlite_file(url: URL, shown: str) -> Finding | None:
    """What to say of a SQLite database that is not there (yet); None when its file exists."""
    if url.database in (None, "", ":memory:"):
        return warn("database", f"{shown} is an in-memory database: every game day is lost when sce stops")
    path = Path(url.database)
    if path.exists():
        return None
    folder = path.absolute().parent
    made = not folder.is_dir() and folder.is_relative_to(data_dir())  # sce's data folder: made at start
    if not folder.is_dir() and not made:
        return fail("database", f"{shown}: the folder {folder} does not exist")
    existing = next(parent for parent in (folder, *folder.parents) if parent.is_dir())
    if not os.access(existing, os.W_OK):
        return fail("database", f"{shown}: sce cannot create a file in {folder}")
    return ok(
        "database",
        f"{shown} does not exist yet; sce serve creates it{' and its folder' if made else ''} at start",
    )


def _read_only_engine(url: URL, timeout: float) -> Engine:
    """An engine that creates nothing: SQLite opened read-only, PostgreSQL with a connect timeout."""
    if url.get_backend_name() != "sqlite":
        return create_engine(url, connect_args={"connect_timeout": max(1, int(timeout))})
    uri = f"file:{Path(str(url.database)).absolute()}?mode=ro"
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=timeout))
