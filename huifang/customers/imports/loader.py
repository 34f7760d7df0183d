"""The set-based half of an import: validated rows go into TEMP staging tables (COPY on PostgreSQL, executemany
on SQLite), and a handful of statements merge them into the real tables (notes/PERFORMANCE.md: bulk_create
costs 9-13x). Rows stay in the database from staging on, so memory does not grow with the file.

Staging runs in short transactions, chunk by chunk, so other writers are not held up while a large file is
read; `merge_*` runs inside the caller's transaction, so the file lands whole or not at all. A staged row is
identified by its `line`: the file's line number, or the item's index in an API batch."""

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from huifang.customers.imports.validation import CustomerRow, EventRow

CUSTOMERS = "import_stage_customers"
PHONES = "import_stage_phones"
EVENTS = "import_stage_events"
REJECTS = "import_stage_rejects"

# Any constant: PostgreSQL serialises concurrent imports on it (SQLite has one writer anyway).
ADVISORY_LOCK = 7_231_001


#: SQLite page cache while merging, in KiB: the secondary indexes (names, ID hashes) fill in random order, and
#: with the default 2 MiB cache every insert would write out and read back index pages
MERGE_CACHE_KIB = 64 * 1024
#: PostgreSQL's memory for sorting one index while it is rebuilt (its default, 64 MB, spills a million keys to disk)
INDEX_SORT_MEMORY_MB = 256


@contextmanager
def sqlite_load_cache() -> Iterator[None]:
    """Around a large merge on SQLite: a bigger page cache for this connection, restored afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{MERGE_CACHE_KIB}")
        # Helper threads for the sorts of CREATE INDEX (the index rebuild after a first large load).
        cursor.execute(f"PRAGMA threads = {min(4, os.cpu_count() or 1)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")
            cursor.execute("PRAGMA threads = 0")


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _types() -> dict[str, str]:
    if _pg():
        return {"int": "bigint", "date": "date", "money": "numeric(18, 2)", "json": "jsonb",
                "time": "timestamptz"}
    return {"int": "integer", "date": "text", "money": "numeric", "json": "text", "time": "text"}


CUSTOMER_COLUMNS = ("line", "customer_no", "name", "branch_id", "manager_id", "tier", "open_date", "status",
                    "risk_rating", "assets", "email", "id_type", "id_no_encrypted", "id_no_masked", "id_no_hash",
                    "products", "tags", "attributes", "mobile")
EVENT_COLUMNS = ("line", "customer_no", "type", "occurred_at", "data", "source", "external_id")


def create_staging(kind: str) -> None:
    """Fresh TEMP tables for one import on this connection (dropped by drop_staging, or with the connection)."""
    t = _types()
    drop_staging()
    statements = [f"CREATE TEMP TABLE {REJECTS} (line {t['int']} NOT NULL, field text NOT NULL, message text NOT NULL)"]
    if kind == "customers":
        statements += [
            f"""CREATE TEMP TABLE {CUSTOMERS} (
                line {t['int']} NOT NULL, customer_no text NOT NULL, name text NOT NULL,
                branch_id {t['int']} NOT NULL, manager_id {t['int']}, tier text, open_date {t['date']} NOT NULL,
                status text, risk_rating text, assets {t['money']}, email text, id_type text, id_no_encrypted text,
                id_no_masked text, id_no_hash text, products {t['json']}, tags {t['json']}, attributes {t['json']},
                mobile text, existing_id {t['int']}, existing_branch_id {t['int']},
                state text NOT NULL DEFAULT 'new')""",
            f"CREATE TEMP TABLE {PHONES} (line {t['int']} NOT NULL, kind text NOT NULL, number text NOT NULL, "
            "last4 text NOT NULL)",
        ]
    else:
        statements.append(
            f"""CREATE TEMP TABLE {EVENTS} (
                line {t['int']} NOT NULL, customer_no text NOT NULL, type text NOT NULL,
                occurred_at {t['time']} NOT NULL, data {t['json']} NOT NULL, source text NOT NULL,
                external_id text NOT NULL, customer_id {t['int']}, existing_id {t['int']},
                state text NOT NULL DEFAULT 'new')""")
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def drop_staging() -> None:
    with connection.cursor() as cursor:
        for table in (CUSTOMERS, PHONES, EVENTS, REJECTS):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _write(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    names = ", ".join(columns)
    if _pg():
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})", rows)


def customer_shaper() -> Callable[[int, CustomerRow], tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
    """A function turning a validated customer into its staging rows (customer, further phones), made for this
    connection's database. Called where the row was validated: in a worker process for a large file."""
    iso = not _pg()

    def shape(line: int, row: CustomerRow) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
        opened = row.open_date.isoformat() if iso else row.open_date
        phones = [(line, *phone) for phone in row.other_phones] if row.other_phones else []
        return (line, *row[:5], opened, *row[6:18]), phones

    return shape


def stage_customers(rows: Iterable[tuple[int, tuple[tuple[Any, ...], list[tuple[Any, ...]]]]],
                    rejects: Iterable[tuple[int, str, str]]) -> None:
    """One chunk of shaped customers (customer_shaper) and of refused lines, in a short transaction."""
    customers: list[Sequence[Any]] = []
    phones: list[Sequence[Any]] = []
    for _, (customer, others) in rows:
        customers.append(customer)
        if others:
            phones.extend(others)
    with transaction.atomic(), connection.cursor() as cursor:
        _write(cursor, CUSTOMERS, CUSTOMER_COLUMNS, customers)
        _write(cursor, PHONES, ("line", "kind", "number", "last4"), phones)
        _write(cursor, REJECTS, ("line", "field", "message"), list(rejects))


def event_shaper() -> Callable[[int, EventRow], tuple[Any, ...]]:
    adapt = connection.ops.adapt_datetimefield_value

    def shape(line: int, row: EventRow) -> tuple[Any, ...]:
        return (line, row.customer_no, row.type, adapt(row.occurred_at), row.data, row.source, row.external_id)

    return shape


def stage_events(rows: Iterable[tuple[int, tuple[Any, ...]]], rejects: Iterable[tuple[int, str, str]]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        _write(cursor, EVENTS, EVENT_COLUMNS, [event for _, event in rows])
        _write(cursor, REJECTS, ("line", "field", "message"), list(rejects))


@dataclass
class MergeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _lock(cursor: Any, table: str | None = None) -> None:
    """One import merges at a time (PostgreSQL; SQLite has a single writer anyway). With `table`: also no other
    writer of it until the commit (readers go on), so the classification and the ids taken stay true."""
    if _pg():
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
        if table:
            cursor.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")


def _states(cursor: Any, table: str) -> MergeCounts:
    cursor.execute(f"SELECT state, COUNT(*) FROM {table} GROUP BY state")
    found = dict(cursor.fetchall())
    return MergeCounts(created=found.get("new", 0), updated=found.get("changed", 0), unchanged=found.get("same", 0))


def _refuse(cursor: Any, table: str, field: str, message_sql: str, where: str, params: Sequence[Any] = ()) -> None:
    """Move the staged rows matching `where` to the rejects, with the message built by `message_sql`."""
    cursor.execute(f"INSERT INTO {REJECTS} (line, field, message) SELECT line, %s, {message_sql} FROM {table} s "
                   f"WHERE {where}", [field, *params])
    if cursor.rowcount:
        cursor.execute(f"DELETE FROM {table} WHERE line IN (SELECT line FROM {REJECTS} WHERE field = %s)", [field])


def _json_list(items: Sequence[tuple[str, str]]) -> str:
    """SQL for a JSON array of the names whose condition holds (each item: (name, SQL condition))."""
    if _pg():
        cases = ", ".join(f"CASE WHEN {condition} THEN '{name}' END" for name, condition in items)
        return f"to_jsonb(array_remove(ARRAY[{cases}]::text[], NULL))"
    cases = " || ".join(f"CASE WHEN {condition} THEN '\"{name}\",' ELSE '' END" for name, condition in items)
    return f"json('[' || rtrim({cases}, ',') || ']')"


def _json_object(pairs: Sequence[tuple[str, str]]) -> str:
    args = ", ".join(f"'{key}', {value}" for key, value in pairs)
    return f"jsonb_build_object({args})" if _pg() else f"json_object({args})"


def _text(expression: str) -> str:
    return f"CAST({expression} AS text)" if _pg() else expression


def merge_customers(*, source: str, allowed_branch_ids: set[int] | None, now: dt.datetime) -> MergeCounts:
    """Merge the staged customers into the real tables. Run inside a transaction.

    Refuses (into the rejects) a customer number given twice (the later lines) and, for an importer limited to
    some branches, a customer that already belongs to another branch. Records manager_changed, info_changed,
    account_closed and designation_withdrawn events for what changed. Staged values that are NULL were not
    given and leave the stored value alone."""
    stamp = connection.ops.adapt_datetimefield_value(now)
    customer, phone, event, user = "customers_customer", "customers_contactpoint", "customers_customerevent", "org_user"
    with connection.cursor() as cursor:
        _lock(cursor, customer)
        cursor.execute(f"CREATE INDEX {CUSTOMERS}_no ON {CUSTOMERS} (customer_no, line)")
        cursor.execute(f"CREATE INDEX {PHONES}_line ON {PHONES} (line)")
        _refuse(cursor, CUSTOMERS, "customer_no",
                "'客户编号 ' || s.customer_no || ' 在本次导入中重复，以第 ' || "
                f"{_text('(SELECT MIN(f.line) FROM ' + CUSTOMERS + ' f WHERE f.customer_no = s.customer_no)')}"
                " || ' 条为准'",
                f"EXISTS (SELECT 1 FROM {CUSTOMERS} e WHERE e.customer_no = s.customer_no AND e.line < s.line)")
        changed = f"""(
            s.name <> c.name OR s.branch_id <> c.branch_id OR s.open_date IS DISTINCT FROM c.open_date
            OR (s.manager_id IS NOT NULL AND s.manager_id IS DISTINCT FROM c.manager_id)
            OR (s.tier IS NOT NULL AND s.tier <> c.tier)
            OR (s.status IS NOT NULL AND s.status <> c.status)
            OR (s.risk_rating IS NOT NULL AND s.risk_rating <> c.risk_rating)
            OR (s.assets IS NOT NULL AND s.assets <> c.assets)
            OR (s.email IS NOT NULL AND s.email <> c.email)
            OR (s.id_type IS NOT NULL AND s.id_type <> c.id_type)
            OR (s.id_no_hash IS NOT NULL AND s.id_no_hash <> c.id_no_hash)
            OR (s.products IS NOT NULL AND s.products <> c.products)
            OR (s.tags IS NOT NULL AND s.tags <> c.tags)
            OR (s.attributes IS NOT NULL AND s.attributes <> c.attributes)
            OR (s.mobile IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM {phone} p WHERE p.customer_id = c.id AND p.number = s.mobile AND p.is_primary))
            OR EXISTS (SELECT 1 FROM {PHONES} o WHERE o.line = s.line AND NOT EXISTS (
                SELECT 1 FROM {phone} p WHERE p.customer_id = c.id AND p.number = o.number)))"""
        cursor.execute(
            f"""UPDATE {CUSTOMERS} AS s SET existing_id = c.id, existing_branch_id = c.branch_id,
                state = CASE WHEN {changed} THEN 'changed' ELSE 'same' END
                FROM {customer} c WHERE c.customer_no = s.customer_no""")
        if allowed_branch_ids is not None:
            allowed = ", ".join(str(int(b)) for b in allowed_branch_ids) or "NULL"
            _refuse(cursor, CUSTOMERS, "branch", "'客户 ' || s.customer_no || ' 属于其他营业部，无权修改'",
                    f"s.existing_branch_id IS NOT NULL AND s.existing_branch_id NOT IN ({allowed})")
        counts = _states(cursor, CUSTOMERS)
        if counts.updated:
            _customer_change_events(cursor, source=source, stamp=stamp, customer=customer, phone=phone,
                                    event=event, user=user)
        offset = _reserve_new_ids(cursor, customer) if counts.created else 0
        with _indexes_rebuilt_after(cursor, [customer, phone], rows=counts.created + counts.updated):
            if counts.updated:
                cursor.execute(
                    f"""UPDATE {customer} SET name = s.name, branch_id = s.branch_id, open_date = s.open_date,
                        manager_id = COALESCE(s.manager_id, {customer}.manager_id),
                        tier = COALESCE(s.tier, {customer}.tier),
                        status = COALESCE(s.status, {customer}.status),
                        risk_rating = COALESCE(s.risk_rating, {customer}.risk_rating),
                        assets = COALESCE(s.assets, {customer}.assets),
                        email = COALESCE(s.email, {customer}.email),
                        id_type = COALESCE(s.id_type, {customer}.id_type),
                        id_no_encrypted = CASE
                            WHEN s.id_no_hash IS NOT NULL AND s.id_no_hash <> {customer}.id_no_hash
                            THEN s.id_no_encrypted ELSE {customer}.id_no_encrypted END,
                        id_no_masked = COALESCE(s.id_no_masked, {customer}.id_no_masked),
                        id_no_hash = COALESCE(s.id_no_hash, {customer}.id_no_hash),
                        products = COALESCE(s.products, {customer}.products),
                        tags = COALESCE(s.tags, {customer}.tags),
                        attributes = COALESCE(s.attributes, {customer}.attributes), updated_at = %s
                    FROM {CUSTOMERS} s WHERE s.existing_id = {customer}.id AND s.state = 'changed'""", [stamp])
            if counts.created:
                empty_list, empty_object = ("'[]'::jsonb", "'{}'::jsonb") if _pg() else ("'[]'", "'{}'")
                cursor.execute(
                    f"""INSERT INTO {customer} (id, customer_no, name, branch_id, manager_id, tier, open_date,
                        status, risk_rating, assets, email, id_type, id_no_encrypted, id_no_masked, id_no_hash,
                        products, tags, attributes, created_at, updated_at)
                    SELECT %s + line, customer_no, name, branch_id, manager_id, COALESCE(tier, 'regular'),
                        open_date, COALESCE(status, 'normal'), COALESCE(risk_rating, ''), COALESCE(assets, 0),
                        COALESCE(email, ''), COALESCE(id_type, ''), COALESCE(id_no_encrypted, ''),
                        COALESCE(id_no_masked, ''), COALESCE(id_no_hash, ''), COALESCE(products, {empty_list}),
                        COALESCE(tags, {empty_list}), COALESCE(attributes, {empty_object}), %s, %s
                    FROM {CUSTOMERS} WHERE state = 'new' ORDER BY line""", [offset, stamp, stamp])
            if counts.created or counts.updated:
                _merge_phones(cursor, source=source, stamp=stamp, phone=phone, offset=offset)
    return counts


def _customer_change_events(cursor: Any, *, source: str, stamp: Any, customer: str, phone: str, event: str,
                            user: str) -> None:
    """Events for what the staged rows change, written before the change (they compare with the old values)."""
    columns = f"INSERT INTO {event} (customer_id, type, occurred_at, data, source, external_id, created_at)"
    joined = f"FROM {CUSTOMERS} s JOIN {customer} c ON c.id = s.existing_id WHERE s.state = 'changed'"
    manager_data = _json_object([("old_manager", "om.agent_no"), ("new_manager", "nm.agent_no"),
                                 ("old_manager_name", "om.name"), ("new_manager_name", "nm.name")])
    cursor.execute(
        f"""{columns} SELECT c.id, 'manager_changed', %s, {manager_data}, %s, '', %s
        FROM {CUSTOMERS} s JOIN {customer} c ON c.id = s.existing_id
        LEFT JOIN {user} om ON om.id = c.manager_id LEFT JOIN {user} nm ON nm.id = s.manager_id
        WHERE s.state = 'changed' AND s.manager_id IS NOT NULL AND s.manager_id IS DISTINCT FROM c.manager_id""",
        [stamp, source, stamp])
    status_data = _json_object([("old_status", "c.status"), ("new_status", "s.status")])
    cursor.execute(
        f"""{columns} SELECT c.id,
            CASE s.status WHEN 'closed' THEN 'account_closed' ELSE 'designation_withdrawn' END,
            %s, {status_data}, %s, '', %s {joined}
        AND s.status IN ('closed', 'designation_withdrawn') AND s.status <> c.status""", [stamp, source, stamp])
    mobile_changed = (f"s.mobile IS NOT NULL AND EXISTS (SELECT 1 FROM {phone} p WHERE p.customer_id = c.id "
                      "AND p.is_primary AND p.number <> s.mobile)")
    fields = [
        ("mobile", mobile_changed),
        ("id_no", "s.id_no_hash IS NOT NULL AND c.id_no_hash <> '' AND s.id_no_hash <> c.id_no_hash"),
        ("id_type", "s.id_type IS NOT NULL AND c.id_type <> '' AND s.id_type <> c.id_type"),
        ("email", "s.email IS NOT NULL AND c.email <> '' AND s.email <> c.email"),
        ("name", "s.name <> c.name"),
    ]
    any_field = " OR ".join(f"({condition})" for _, condition in fields)
    cursor.execute(
        f"""{columns} SELECT c.id, 'info_changed', %s, {_json_object([('fields', _json_list(fields))])}, %s, '', %s
        {joined} AND ({any_field})""", [stamp, source, stamp])


def _reserve_new_ids(cursor: Any, customer: str) -> int:
    """An offset such that offset + line is a free id for every new staged customer: the ids are known before
    the insert, so their phones are written without looking each customer up again. Ids between are skipped,
    never reused. The caller holds the table's write lock (merge_customers), so nobody takes an id meanwhile."""
    cursor.execute(f"SELECT MIN(line), MAX(line) FROM {CUSTOMERS} WHERE state = 'new'")
    first_line, last_line = (int(v) for v in cursor.fetchone())
    if _pg():
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [customer])
        offset = int(cursor.fetchone()[0]) - first_line
        cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [customer, offset + last_line])
        return offset
    # SQLite: past the largest id ever given (AUTOINCREMENT's sqlite_sequence follows explicit ids by itself).
    cursor.execute(f"SELECT MAX(n) FROM (SELECT MAX(id) AS n FROM {customer} UNION ALL "
                   "SELECT seq FROM sqlite_sequence WHERE name = %s)", [customer])
    return int(cursor.fetchone()[0] or 0) + 1 - first_line


#: rebuild the secondary indexes instead of maintaining them when an import writes more rows than this and at
#: least half the table: sorting once is several times faster than a million random index updates
REBUILD_INDEXES_FROM = 50_000


@contextmanager
def _indexes_rebuilt_after(cursor: Any, tables: Sequence[str], *, rows: int) -> Iterator[None]:
    """For a load that writes many rows and at least half as many as the table holds (the first import of a
    brokerage, a re-import that changes nearly everyone): drop the plain secondary indexes of
    `tables` (and, on PostgreSQL, their foreign keys), let the caller insert, and create them again from their own
    definitions. Unique indexes stay (the upserts need them). Inside the caller's transaction, so a failure
    restores them; on PostgreSQL the tables are locked for writing and reading until the commit."""
    if rows < REBUILD_INDEXES_FROM:
        yield
        return
    cursor.execute(f"SELECT COUNT(*) FROM {tables[0]}")
    if int(cursor.fetchone()[0]) > 2 * rows:
        yield
        return
    definitions: list[tuple[str, str]] = []
    foreign_keys: list[tuple[str, str, str]] = []
    for table in tables:
        if _pg():
            cursor.execute(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s
                AND i.indexdef NOT LIKE 'CREATE UNIQUE%%'
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class x ON x.oid = c.conindid
                                WHERE x.relname = i.indexname)""",
                [table])
            definitions.extend(cursor.fetchall())
            # Foreign keys too: a row-by-row check queued per inserted row costs more than the inserts
            # themselves; adding the constraint again checks every row in one join.
            cursor.execute("SELECT %s, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = %s::regclass AND contype = 'f'", [table, table])
            foreign_keys.extend(cursor.fetchall())
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                           "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'", [table])
            definitions.extend(cursor.fetchall())
    quote = connection.ops.quote_name
    if foreign_keys:
        # No check of earlier statements may still be pending on a table that is altered.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for table, name, _ in foreign_keys:
        cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    for name, _ in definitions:
        cursor.execute(f"DROP INDEX {quote(name)}")
    if foreign_keys:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    yield
    if _pg():
        # PostgreSQL alters no table and creates no index with deferred checks pending: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Sort each index in memory rather than in temporary files (for this transaction only).
        cursor.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_SORT_MEMORY_MB}MB'")
    for table, name, definition in foreign_keys:
        cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
    for _, definition in definitions:
        cursor.execute(definition)
    if _pg():
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _merge_phones(cursor: Any, *, source: str, stamp: Any, phone: str, offset: int) -> None:
    """A new mobile becomes the primary phone; the mobile it replaces stays, marked changed (the contact-correction
    list reads it). Further numbers are added beside. A customer left without a primary gets its first number."""
    cursor.execute(
        f"""UPDATE {phone} SET is_primary = false, updated_at = %s,
            validity = CASE WHEN {phone}.kind = 'mobile' THEN 'changed' ELSE {phone}.validity END
        FROM {CUSTOMERS} s WHERE s.state = 'changed' AND s.mobile IS NOT NULL
            AND {phone}.customer_id = s.existing_id AND {phone}.is_primary AND {phone}.number <> s.mobile""",
        [stamp])
    cursor.execute(
        f"""INSERT INTO {phone} (customer_id, kind, number, last4, validity, source, is_primary, created_at,
            updated_at)
        SELECT COALESCE(s.existing_id, %s + s.line), 'mobile', s.mobile, substr(s.mobile, 8, 4), 'unknown', %s,
            true, %s, %s
        FROM {CUSTOMERS} s WHERE s.state <> 'same' AND s.mobile IS NOT NULL
        ON CONFLICT (customer_id, number) DO UPDATE SET is_primary = true, updated_at = excluded.updated_at,
            validity = CASE WHEN {phone}.validity = 'changed' THEN 'unknown' ELSE {phone}.validity END
        WHERE NOT {phone}.is_primary""", [offset, source, stamp, stamp])
    cursor.execute(
        f"""INSERT INTO {phone} (customer_id, kind, number, last4, validity, source, is_primary, created_at,
            updated_at)
        SELECT COALESCE(s.existing_id, %s + s.line), o.kind, o.number, o.last4, 'unknown', %s, false, %s, %s
        FROM {PHONES} o JOIN {CUSTOMERS} s ON s.line = o.line WHERE s.state <> 'same'
        ON CONFLICT (customer_id, number) DO NOTHING""", [offset, source, stamp, stamp])
    cursor.execute(
        f"""UPDATE {phone} SET is_primary = true WHERE id IN (
            SELECT MIN(p.id) FROM {phone} p JOIN {CUSTOMERS} s ON COALESCE(s.existing_id, %s + s.line) = p.customer_id
            WHERE s.state <> 'same' AND s.mobile IS NULL
                AND NOT EXISTS (SELECT 1 FROM {phone} q WHERE q.customer_id = p.customer_id AND q.is_primary)
            GROUP BY p.customer_id)""", [offset])


def merge_events(*, allowed_branch_ids: set[int] | None, now: dt.datetime) -> MergeCounts:
    """Merge the staged events: new (source, external id) pairs are added, a re-sent event with other content
    is updated, an identical one is left alone. Refuses unknown (or invisible) customers and an external id
    given twice, or already used for another customer's event. Run inside a transaction."""
    event, customer = "customers_customerevent", "customers_customer"
    with connection.cursor() as cursor:
        _lock(cursor)
        cursor.execute(f"CREATE INDEX {EVENTS}_key ON {EVENTS} (source, external_id, line)")
        _refuse(cursor, EVENTS, "external_id",
                "'外部编号 ' || s.external_id || ' 在本次导入中重复'",
                f"EXISTS (SELECT 1 FROM {EVENTS} e WHERE e.source = s.source AND e.external_id = s.external_id "
                "AND e.line < s.line)")
        branch_filter = ""
        if allowed_branch_ids is not None:
            branch_filter = f" AND c.branch_id IN ({', '.join(str(int(b)) for b in allowed_branch_ids) or 'NULL'})"
        cursor.execute(f"UPDATE {EVENTS} AS s SET customer_id = c.id FROM {customer} c "
                       f"WHERE c.customer_no = s.customer_no{branch_filter}")
        _refuse(cursor, EVENTS, "customer_no", "'客户不存在：' || s.customer_no", "s.customer_id IS NULL")
        cursor.execute(
            f"""UPDATE {EVENTS} AS s SET existing_id = e.id,
                state = CASE WHEN e.customer_id <> s.customer_id THEN 'foreign'
                    WHEN e.type = s.type AND e.occurred_at = s.occurred_at AND e.data = s.data THEN 'same'
                    ELSE 'changed' END
            FROM {event} e WHERE e.source = s.source AND e.external_id = s.external_id""")
        _refuse(cursor, EVENTS, "external_id_used", "'外部编号 ' || s.external_id || ' 已用于另一位客户的事件'",
                "s.state = 'foreign'")
        cursor.execute(f"UPDATE {REJECTS} SET field = 'external_id' WHERE field = 'external_id_used'")
        counts = _states(cursor, EVENTS)
        stamp = connection.ops.adapt_datetimefield_value(now)
        if counts.updated:
            cursor.execute(
                f"""UPDATE {event} SET type = s.type, occurred_at = s.occurred_at, data = s.data
                FROM {EVENTS} s WHERE s.existing_id = {event}.id AND s.state = 'changed'""")
        if counts.created:
            cursor.execute(
                f"""INSERT INTO {event} (customer_id, type, occurred_at, data, source, external_id, created_at)
                SELECT customer_id, type, occurred_at, data, source, external_id, %s FROM {EVENTS}
                WHERE state = 'new' ORDER BY line""", [stamp])
    return counts


def rejected_lines() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT line) FROM {REJECTS}")
        return int(cursor.fetchone()[0])


def rejects_in_order(limit: int | None = None) -> list[tuple[int, str, str]]:
    """(line, field, message) of every refusal, by line (several per line when several fields were wrong)."""
    with connection.cursor() as cursor:
        sql = f"SELECT line, field, message FROM {REJECTS} ORDER BY line, field"
        cursor.execute(sql + (f" LIMIT {int(limit)}" if limit is not None else ""))
        return [(int(line), field, message) for line, field, message in cursor.fetchall()]
