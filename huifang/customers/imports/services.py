"""Imports of customers and events: from a file (`import_file`, used by the page, its job and `huifang import`)
and from a batch pushed to the REST API (`upsert_customer_records`, `upsert_event_records`). Both go through
the same validation (validation.py) and the same staging and merge (loader.py), so the same data gives the same
result whichever way it arrives.

Guarantees: a file that cannot be read changes nothing; every refused row or item is reported with its line
(or index), its column (or field) and the reason, and the valid ones are taken; the merge is one transaction;
importing the same data again changes nothing."""

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.customers.choices import EventType
from huifang.customers.imports import loader, pipeline
from huifang.customers.imports.profiles import (
    BUILTIN_PROFILES,
    FIELDS,
    ColumnMap,
    Kind,
    Profile,
    detect_profile,
    field_label,
    map_columns,
)
from huifang.customers.imports.readers import Cell, ImportFileError, open_table
from huifang.customers.imports.validation import CustomerValidator, EventValidator
from huifang.lib.fieldcrypt import field_cipher
from huifang.org.models import Branch, User
from huifang.org.scoping import own_branch_ids, sees_all_branches

#: rows validated and staged at a time
CHUNK_ROWS = 20_000
#: files from this size on are validated in worker processes (settings.IMPORT_WORKERS)
PARALLEL_FROM_BYTES = 4 << 20
#: refusals kept in a result (all of them go to the rejects file)
ERRORS_KEPT = 1_000
#: the most items one API call may push
MAX_BATCH = 10_000
#: the reason column added to the rejects file
REASON_HEADER = "错误原因"
LINE_HEADER = "行号"


@dataclass(frozen=True)
class RowError:
    #: the line in the file (the header is line 1), or the item's index in an API batch
    line: int
    #: the column header (files) or field name (API)
    column: str
    message: str


@dataclass
class ImportResult:
    kind: Kind
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    profile: str = ""
    encoding: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    rejects_path: Path | None = None

    def counts(self) -> dict[str, int]:
        return {"read": self.read, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected}


def branch_limit(principal: Any) -> set[int] | None:
    """The branches `principal` may import into: None for all (HQ, all-branch API clients, the command line)."""
    return None if sees_all_branches(principal) else set(own_branch_ids(principal))


def _customer_validator(allowed_branch_ids: set[int] | None,
                        coded: Mapping[str, Mapping[str, str]]) -> CustomerValidator:
    branches = list(Branch.objects.values_list("id", "code", "name"))
    managers = dict(User.objects.exclude(agent_no=None).values_list("agent_no", "id"))
    return CustomerValidator(
        branches={code: pk for pk, code, _ in branches}, branch_names={name: pk for pk, _, name in branches},
        managers=managers, allowed_branch_ids=allowed_branch_ids, cipher=field_cipher(),
        today=timezone.localdate(), coded_values=coded,
    )


def _event_validator(source: str, *, require_external_id: bool = False) -> EventValidator:
    return EventValidator(event_types=set(EventType.values), source=source, now=timezone.now(),
                          tz=ZoneInfo(settings.TIME_ZONE), require_external_id=require_external_id)


def _stage(kind: Kind, check: pipeline.ChunkValidator, items: Iterable[pipeline.Item],
           progress: Callable[[int], None] | None, *, workers: int = 0) -> int:
    """Validate and stage every (line, raw) item, chunk by chunk; returns how many items were read."""
    read = 0
    stage = loader.stage_customers if kind == "customers" else loader.stage_events
    for good, bad in pipeline.checked_chunks(check, items, size=CHUNK_ROWS, workers=workers):
        stage(good, bad)
        read += len(good) + len({line for line, _, _ in bad})
        if progress is not None:
            progress(read)
    return read


def _shaper(kind: Kind) -> Callable[[int, Any], Any]:
    return loader.customer_shaper() if kind == "customers" else loader.event_shaper()


def _workers_for(path: Path) -> int:
    """Worker processes for validating `path`: none for a small file (forking would cost more than it saves)."""
    return settings.IMPORT_WORKERS if path.stat().st_size >= PARALLEL_FROM_BYTES else 0


def _merge(kind: Kind, *, source: str, allowed_branch_ids: set[int] | None) -> loader.MergeCounts:
    if kind == "customers":
        return loader.merge_customers(source=source, allowed_branch_ids=allowed_branch_ids, now=timezone.now())
    return loader.merge_events(allowed_branch_ids=allowed_branch_ids, now=timezone.now())


def resolve_columns(kind: Kind, header: Sequence[str], profile: Profile | None = None,
                    saved: Sequence[Profile] = ()) -> ColumnMap:
    """The column map for `header`: under `profile` if given, else the best of the saved and built-in ones.
    Raises ImportFileError naming the missing required columns."""
    if profile is not None:
        if profile.kind != kind:
            raise ImportFileError(f"导入方案“{profile.label}”不是用于{'客户' if kind == 'customers' else '业务事件'}的")
        mapped = map_columns(profile, header)
    else:
        found = detect_profile(kind, header, saved)
        if found is None:
            best = max((map_columns(p, header) for p in [*saved, *BUILTIN_PROFILES.values()] if p.kind == kind),
                       key=lambda m: len(m.columns))
            mapped = best
        else:
            mapped = found
    missing = [spec.label for spec in mapped.missing_required()]
    if kind == "customers" and not {"mobile", "landline"} & set(mapped.columns):
        # Every customer needs a phone: a file without a phone column would be refused row by row.
        missing.append("手机号码或固定电话")
    if missing:
        names = "、".join(missing)
        raise ImportFileError(
            f"表头中缺少必需的列：{names}（按导入方案“{mapped.profile.label}”识别）。"
            "请检查表头，或在导入页面为这个文件设置列对应关系。")
    return mapped


def import_file(
    *,
    path: Path,
    kind: Kind,
    actor: Any,
    allowed_branch_ids: set[int] | None,
    profile: Profile | None = None,
    saved_profiles: Sequence[Profile] = (),
    source: str = "import",
    progress: Callable[[int], None] | None = None,
    rejects_path: Path | None = None,
    file_name: str = "",
) -> ImportResult:
    """Import a CSV or XLSX file of customers or events.

    Preconditions: `allowed_branch_ids` is what the actor may import into (branch_limit), None for all.
    Side effects: staged rows in TEMP tables (dropped at the end); one transaction merging them; one audit entry;
    if rows were refused and `rejects_path` is given, a file of those rows with a reason column, in the input's
    encoding. Raises ImportFileError (nothing changed) for a file that cannot be read."""
    table = open_table(path)
    try:
        columns = resolve_columns(kind, table.header, profile, saved_profiles)
    except ImportFileError:
        table.close()
        raise
    result = ImportResult(kind=kind, profile=columns.profile.name, encoding=table.encoding,
                          ignored_columns=columns.ignored)
    coded = columns.profile.values
    validate = (_customer_validator(allowed_branch_ids, coded).validate if kind == "customers"
                else _event_validator(source).validate)
    check = pipeline.ChunkValidator(validate, _shaper(kind), columns=list(columns.columns.items()),
                                    width=len(table.header))
    loader.create_staging(kind)
    try:
        result.read = _stage(kind, check, table.rows, progress, workers=_workers_for(path))
        with loader.sqlite_load_cache(), transaction.atomic():
            counts = _merge(kind, source=source, allowed_branch_ids=allowed_branch_ids)
            result.created, result.updated, result.unchanged = counts.created, counts.updated, counts.unchanged
            result.rejected = loader.rejected_lines()
            _audit(actor, kind, result, file_name or path.name)
        header_of = {name: table.header[index] for name, index in columns.columns.items()}
        result.errors = [RowError(line, header_of.get(name) or field_label(kind, name) if name else "", message)
                         for line, name, message in loader.rejects_in_order(ERRORS_KEPT)]
        if result.rejected and rejects_path is not None:
            write_rejects(path, rejects_path, header_of)
            result.rejects_path = rejects_path
    finally:
        table.close()
        loader.drop_staging()
    return result


def _audit(actor: Any, kind: Kind, result: ImportResult, what: str) -> None:
    noun = "客户" if kind == "customers" else "业务事件"
    record_action(
        actor=actor, action="import",
        object_type="customers.customer" if kind == "customers" else "customers.customerevent",
        object_repr=what[:200], branch_code=getattr(getattr(actor, "branch", None), "code", "") or "",
        summary=(f"导入{noun}（{what}）：读取 {result.read}，新增 {result.created}，更新 {result.updated}，"
                 f"未变 {result.unchanged}，拒绝 {result.rejected}"),
        changes=result.counts(),
    )


def write_rejects(source_path: Path, target: Path, header_of: Mapping[str, str]) -> None:
    """The refused rows of `source_path`, as they were, with the line number and the reasons added; CSV in the
    input's encoding and delimiter (UTF-8 with BOM for an XLSX input, which Excel opens as it should).
    Reads the staged refusals in line order alongside a second pass over the file: memory stays flat."""
    table = open_table(source_path)
    encoding = table.encoding or "utf-8-sig"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding=encoding, errors="replace", newline="") as handle, \
            connection.cursor() as cursor:
        out = csv.writer(handle, delimiter=table.delimiter)
        out.writerow([*table.header, LINE_HEADER, REASON_HEADER])
        cursor.execute(f"SELECT line, field, message FROM {loader.REJECTS} ORDER BY line, field")
        pending = _reasons_by_line(cursor, header_of)
        current = next(pending, None)
        for line, cells in table.rows:
            while current is not None and current[0] < line:
                current = next(pending, None)
            if current is None:
                break
            if current[0] == line:
                out.writerow([_cell_text(c) for c in cells] + [line, current[1]])
                current = next(pending, None)


def _reasons_by_line(cursor: Any, header_of: Mapping[str, str]) -> Iterator[tuple[int, str]]:
    line_now, reasons = None, []
    while batch := cursor.fetchmany(1000):
        for line, name, message in batch:
            if line != line_now and line_now is not None:
                yield line_now, "；".join(reasons)
                reasons = []
            line_now = line
            column = header_of.get(name, "")
            reasons.append(f"{column}：{message}" if column else message)
    if line_now is not None:
        yield line_now, "；".join(reasons)


def _cell_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, dt.datetime | dt.date):
        return cell.isoformat()
    return str(cell)


@dataclass
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    #: [{"index", "field", "message"}]
    errors: list[dict[str, Any]] = field(default_factory=list)


def _upsert_batch(kind: Kind, records: Sequence[Mapping[str, Any]], *, source: str, actor: Any,
                  allowed_branch_ids: set[int] | None) -> BatchResult:
    if len(records) > MAX_BATCH:
        raise ValueError(f"一次最多提交 {MAX_BATCH} 条，这里有 {len(records)} 条")
    validate = (_customer_validator(allowed_branch_ids, {}).validate if kind == "customers"
                else _event_validator(source, require_external_id=True).validate)
    known = {spec.name for spec in FIELDS[kind]} | {"phones", "attributes", "data"}

    def items() -> Iterator[pipeline.Item]:
        for index, record in enumerate(records):
            unknown = sorted(set(record) - known)
            yield index, (f"未知字段：{', '.join(unknown)}" if unknown else record)

    loader.create_staging(kind)
    try:
        read = _stage(kind, pipeline.ChunkValidator(validate, _shaper(kind)), items(), None)
        with transaction.atomic():
            counts = _merge(kind, source=source, allowed_branch_ids=allowed_branch_ids)
            result = BatchResult(counts.created, counts.updated, counts.unchanged, loader.rejected_lines())
            summary = ImportResult(kind=kind, read=read, created=result.created, updated=result.updated,
                                   unchanged=result.unchanged, rejected=result.rejected)
            _audit(actor, kind, summary, f"API {source}")
        result.errors = [{"index": line, "field": name, "message": message}
                         for line, name, message in loader.rejects_in_order()]
    finally:
        loader.drop_staging()
    return result


def upsert_customer_records(records: Sequence[Mapping[str, Any]], *, source: str, actor: Any,
                            allowed_branch_ids: set[int] | None) -> BatchResult:
    """Create or update customers from API items (same validation and merge as a file import). Each item is taken
    whole or refused whole; `errors` names the item's index, the field and the reason."""
    return _upsert_batch("customers", records, source=source, actor=actor, allowed_branch_ids=allowed_branch_ids)


def upsert_event_records(records: Sequence[Mapping[str, Any]], *, source: str, actor: Any,
                         allowed_branch_ids: set[int] | None) -> BatchResult:
    """Record business events from API items, idempotent on (source, external_id)."""
    return _upsert_batch("events", records, source=source, actor=actor, allowed_branch_ids=allowed_branch_ids)
