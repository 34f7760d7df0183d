"""The one switch that lets audit entries be deleted on a connection: for the retention purge (REGULATION.md
item 22: deleted after the retention period, and the purge logged) and for emptying a test database.
Updates are never allowed. Without the switch, the triggers of migration 0003 refuse every DELETE."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

MARKER = "huifang_audit_purge"


def register_sqlite_switch(connection: BaseDatabaseWrapper) -> None:
    """SQLite's trigger asks the SQL function huifang_audit_purge(), which exists per connection and answers
    this wrapper's switch (so a reconnect keeps it). A connection without it (another program) fails the DELETE."""
    connection.ensure_connection()
    connection.connection.create_function(MARKER, 0, lambda: int(getattr(connection, "_huifang_audit_purge", False)))


def enable_audit_purge(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET huifang.audit_purge = 'on'")
    connection._huifang_audit_purge = True  # type: ignore[attr-defined]


def disable_audit_purge(connection: BaseDatabaseWrapper) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("RESET huifang.audit_purge")
    connection._huifang_audit_purge = False  # type: ignore[attr-defined]


@contextmanager
def audit_purge_allowed(using: str = "default") -> Iterator[None]:
    connection = connections[using]
    enable_audit_purge(connection)
    try:
        yield
    finally:
        disable_audit_purge(connection)
