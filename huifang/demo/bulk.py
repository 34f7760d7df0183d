"""Set-based loading of the demo's big tables: COPY on PostgreSQL, executemany of plain INSERTs elsewhere.
Both run inside the caller's transaction (notes/PERFORMANCE.md: bulk_create of model instances is 9-13x
slower)."""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection

#: SQLite page cache during a load, in KiB (negative cache_size means KiB)
LOAD_CACHE_KIB = 256 * 1024


class RowWriter:
    """Writes plain rows (tuples of Python values already in the database's text form) into a table."""

    def __init__(self) -> None:
        self.vendor = connection.vendor
        self.quote = connection.ops.quote_name

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Around a large load: on SQLite a bigger page cache, so that the secondary indexes, filled in
        random order, are not written out and read back a page at a time (bounded: LOAD_CACHE_KIB)."""
        if self.vendor != "sqlite":
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            previous = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(previous)}")

    def format_timestamp(self, utc_text: str) -> str:
        """`YYYY-MM-DD HH:MM:SS` in UTC → the form the backend stores for an aware DateTimeField.
        Django keeps naive UTC text on SQLite; PostgreSQL needs the offset to read it as UTC."""
        return f"{utc_text}+00:00" if self.vendor == "postgresql" else utc_text

    def write(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        column_list = ", ".join(self.quote(column) for column in columns)
        count = 0
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                # psycopg 3: the server parses COPY's text format; write_row escapes tabs and newlines.
                with cursor.cursor.copy(f"COPY {self.quote(table)} ({column_list}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            else:
                batch = list(rows)
                placeholders = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {self.quote(table)} ({column_list}) VALUES ({placeholders})", batch
                )
                count = len(batch)
        return count


def refresh_statistics() -> None:
    """After a large load (or before deleting one) on PostgreSQL: ANALYZE, so the planner knows the tables' sizes.
    Autovacuum does not see rows of a transaction still open (a test, a reset), and with the statistics of empty
    tables a join over the demo's calls or answers was planned as nested loops and ran for minutes. Inside a
    transaction ANALYZE counts that transaction's own rows. SQLite plans without statistics well enough here."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
