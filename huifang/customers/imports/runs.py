"""The import page's writes: an uploaded file becomes an ImportRun whose background job (customers.jobs.run_import)
imports it through services.import_file; column mappings are saved as ImportProfile rows.

Files live under VAR_DIR/imports/<uuid>/: the upload as `upload<ext>` and the refused rows as `rejects.csv`.
The upload holds clear customer data, so it is deleted once its import has finished; the rejects file stays for
its download. A file whose header names no known layout waits there (a PendingUpload) until the user maps its
columns on the page."""

import logging
import uuid
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from huifang.audit.services import record_action
from huifang.customers.imports.profiles import (
    BUILTIN_PROFILES,
    FIELDS,
    Kind,
    Profile,
    map_columns,
    normalise_header,
    saved_profile,
)
from huifang.customers.imports.readers import ImportFileError, read_header
from huifang.customers.imports.services import RowError, branch_limit, import_file, resolve_columns
from huifang.customers.models import ImportKind, ImportProfile, ImportRun, ImportStatus
from huifang.org.scoping import sees_all_branches

logger = logging.getLogger(__name__)

#: the largest file the page takes
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
ALLOWED_EXTENSIONS = (".csv", ".txt", ".xlsx")
#: refusals kept on the run for the page (every one is in the rejects file)
ERRORS_STORED = 200
IMPORTS_DIR = "imports"
UPLOAD_STEM = "upload"
REJECTS_NAME = "rejects.csv"
#: what a run shows as its profile when the columns were mapped by hand for this one file
MANUAL_PROFILE_LABEL = "本次手动设置的列对应"
INTERNAL_FAILURE = "导入失败：内部错误"
#: the kinds as the (Chinese) messages of this module name them
KIND_NOUNS = {"customers": "客户资料", "events": "业务事件"}


class UploadRefused(Exception):
    """The upload or the choice made with it is refused; the message is for the user. Nothing was stored."""


class ProfileError(Exception):
    """A column mapping or profile name that cannot be saved; `messages` are for the user."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("；".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class PendingUpload:
    """A stored upload waiting for its column mapping: `token` names its folder under VAR_DIR/imports."""

    token: str
    file_name: str


class MappingNeeded(Exception):
    """The file's header fits no profile: the page asks for the columns (`initial`: field -> header guessed)."""

    def __init__(self, *, pending: PendingUpload, kind: Kind, header: list[str], initial: dict[str, str],
                 message: str) -> None:
        super().__init__(message)
        self.pending, self.kind, self.header, self.initial, self.message = pending, kind, header, initial, message


def imports_root() -> Path:
    return Path(settings.VAR_DIR) / IMPORTS_DIR


def run_path(relative: str) -> Path:
    """The absolute path of a file stored on a run (relative to VAR_DIR/imports)."""
    return imports_root() / relative


def upload_path(run: ImportRun) -> Path:
    return run_path(run.stored_file)


def rejects_path(run: ImportRun) -> Path | None:
    return run_path(run.rejects_file) if run.rejects_file else None


def _folder(token: str) -> Path:
    # The token comes back from the page: only a UUID's hex may name a folder.
    try:
        canonical = uuid.UUID(hex=token).hex
    except (ValueError, TypeError, AttributeError):
        raise UploadRefused("上传的文件已失效，请重新上传。") from None
    if canonical != token:
        raise UploadRefused("上传的文件已失效，请重新上传。")
    return imports_root() / token


def _stored_file(pending: PendingUpload) -> Path:
    folder = _folder(pending.token)
    found = sorted(folder.glob(f"{UPLOAD_STEM}.*")) if folder.is_dir() else []
    if not found:
        raise UploadRefused("上传的文件已失效，请重新上传。")
    return found[0]


def check_upload(name: str, size: int | None) -> str:
    """The file's extension (lower case) if the page takes it; UploadRefused with the reason otherwise."""
    extension = Path(name).suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise UploadRefused(f"不支持的文件类型“{extension or '无扩展名'}”：请上传 CSV（.csv、.txt）"
                            "或 Excel（.xlsx）文件。旧版 .xls 请先在 Excel 中另存为 .xlsx。")
    if size is not None and size > MAX_UPLOAD_BYTES:
        limit = MAX_UPLOAD_BYTES // 1024 // 1024
        raise UploadRefused(f"文件太大（{size / 1024 / 1024:.0f} MB）：每个文件最大 {limit} MB，请拆分后分批导入。")
    if not size:
        raise UploadRefused("文件是空的。")
    return extension


def _store(upload: UploadedFile) -> PendingUpload:
    name = Path(upload.name or "").name
    extension = check_upload(name, upload.size)
    token = uuid.uuid4().hex
    folder = imports_root() / token
    folder.mkdir(parents=True)
    with (folder / f"{UPLOAD_STEM}{extension}").open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return PendingUpload(token=token, file_name=name[:255])


def _saved_candidates(actor: Any, kind: Kind) -> dict[str, tuple[ImportProfile, Profile]]:
    """The saved profiles `actor` may use for `kind`, keyed by the name their Profile carries (their id: two
    profiles of different branches may share a name)."""
    rows = ImportProfile.objects.usable_by(actor).filter(kind=kind).select_related("branch")
    return {f"saved-{row.pk}": (row, _as_profile(row, name=f"saved-{row.pk}")) for row in rows}


def _as_profile(row: ImportProfile, *, name: str) -> Profile:
    return saved_profile(name=name, label=row.name, kind=cast(Kind, row.kind), mapping=row.mapping)


def _guess(kind: Kind, header: Sequence[str], candidates: Sequence[Profile]) -> dict[str, str]:
    """field -> header of the candidate profile that finds most columns: the mapping form's starting point."""
    maps = [map_columns(p, header) for p in [*candidates, *BUILTIN_PROFILES.values()] if p.kind == kind]
    best = max(maps, key=lambda m: len(m.columns), default=None)
    return {} if best is None else {name: header[index] for name, index in best.columns.items()}


def start_import(*, actor: Any, upload: UploadedFile | PendingUpload, kind: str, profile_choice: str = "",
                 mapping: Mapping[str, str] | None = None) -> ImportRun:
    """Store an uploaded file (or take a PendingUpload back), pin the column mapping and queue its import.

    `profile_choice`: "" to detect the layout among the built-in and the actor's saved profiles, "builtin:<name>"
    or "saved:<id>"; or `mapping` ({field: header}) for columns mapped by hand. Preconditions: the actor may
    import (queries.may_import). Raises UploadRefused (wrong type, over MAX_UPLOAD_BYTES, unknown profile: the
    file is not kept), ProfileError for a bad `mapping`, MappingNeeded when the header fits no profile (the file
    is kept for the mapping form). A file that cannot be read gives a run that failed at once with the reason.
    Side effects: the file under VAR_DIR/imports/<uuid>/; an ImportRun of the actor's branch; its job queued
    when the transaction commits."""
    if kind not in ImportKind.values:
        raise UploadRefused("请选择导入客户资料还是业务事件。")
    import_kind = cast(Kind, kind)
    if mapping is not None:
        problems = mapping_problems(import_kind, mapping)
        if problems:
            raise ProfileError(problems)
    chosen, chosen_mapping, profile_name = _chosen_profile(actor, import_kind, profile_choice, mapping)
    pending = _store(upload) if isinstance(upload, UploadedFile) else upload
    path = _stored_file(pending)
    run = ImportRun(kind=kind, file_name=pending.file_name, stored_file=str(path.relative_to(imports_root())),
                    created_by=actor, branch=getattr(actor, "branch", None))
    try:
        header = read_header(path)
    except ImportFileError as error:
        _remove_upload(path)
        run.status, run.failure, run.finished_at = ImportStatus.FAILED, str(error), timezone.now()
        run.save()
        return run
    candidates = _saved_candidates(actor, import_kind) if chosen is None else {}
    try:
        columns = resolve_columns(import_kind, header, chosen, [profile for _, profile in candidates.values()])
    except ImportFileError as error:
        raise MappingNeeded(pending=pending, kind=import_kind, header=header, message=str(error),
                            initial=_guess(import_kind, header,
                                           [chosen] if chosen else [p for _, p in candidates.values()])) from None
    if chosen is None:
        # Pin what was detected, so that the job imports under the layout the upload was checked against.
        found = columns.profile
        if found.is_builtin:
            profile_name = found.name
        else:
            row, _ = candidates[found.name]
            profile_name, chosen_mapping = row.name, dict(row.mapping)
    run.profile_name, run.mapping = profile_name, chosen_mapping
    with transaction.atomic():
        run.save()
        transaction.on_commit(partial(_enqueue, run.pk))
    return run


def _chosen_profile(actor: Any, kind: Kind, choice: str, mapping: Mapping[str, str] | None,
                    ) -> tuple[Profile | None, dict[str, str], str]:
    """(the Profile to resolve with or None to detect, the mapping to pin on the run, the profile name)."""
    if mapping is not None:
        clean = {field: header for field, header in mapping.items() if header}
        return saved_profile(name="manual", label=MANUAL_PROFILE_LABEL, kind=kind, mapping=clean), clean, ""
    if not choice:
        return None, {}, ""
    source, _, key = choice.partition(":")
    if source == "builtin" and key in BUILTIN_PROFILES:
        builtin = BUILTIN_PROFILES[key]
        if builtin.kind != kind:
            raise UploadRefused(f"导入方案“{builtin.label}”不是用于{KIND_NOUNS[kind]}的。")
        return builtin, {}, builtin.name
    if source == "saved" and key.isdigit():
        row = ImportProfile.objects.usable_by(actor).filter(pk=int(key)).first()
        if row is not None:
            if row.kind != kind:
                raise UploadRefused(f"导入方案“{row.name}”不是用于{KIND_NOUNS[kind]}的。")
            return _as_profile(row, name=row.name), dict(row.mapping), row.name
    raise UploadRefused("所选的导入方案不存在。")


def _enqueue(run_id: int) -> None:
    # Imported here: jobs imports this module for the job's body.
    from huifang.customers.jobs import run_import

    try:
        run_import.enqueue(run_id)
    except Exception:
        logger.exception("import run %s: the job could not be queued", run_id)
        ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.FAILED, failure="导入失败：无法启动后台任务，请稍后重试。", finished_at=timezone.now())


def estimate_rows(path: Path) -> int | None:
    """About how many data rows a file has, for the progress bar: lines of a CSV (one pass over the bytes), the
    sheet's declared size of an XLSX; None when unknown."""
    if zipfile.is_zipfile(path):
        import openpyxl  # only XLSX imports pay for loading it

        try:
            workbook = openpyxl.load_workbook(path, read_only=True)
            try:
                rows = workbook.worksheets[0].max_row
            finally:
                workbook.close()
        except Exception:  # the import itself reports a damaged file
            return None
        return max(rows - 1, 0) if rows else None
    lines, last = 0, b""
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last and last != b"\n":
        lines += 1
    return max(lines - 1, 0)


def execute_import_run(*, run_id: int) -> str:
    """The body of the import job: import the run's file and record the outcome on the run. Returns its status.

    Preconditions: the run is queued (any other state: nothing is done, so a job delivered twice imports once).
    Side effects: the run goes running (rows_read updated every services.CHUNK_ROWS rows), then done with the
    counts, the first ERRORS_STORED refusals and the rejects file, or failed with the reason (a file that cannot
    be read: its message; anything unexpected: INTERNAL_FAILURE, the traceback only in the log); the upload
    is deleted (kept after an unexpected failure, to find the cause)."""
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=timezone.now())
    if not claimed:
        logger.warning("import run %s: not queued, nothing to do", run_id)
        return ""
    run = ImportRun.objects.select_related("created_by", "branch").get(pk=run_id)
    path = upload_path(run)
    target = path.with_name(REJECTS_NAME)
    try:
        total = estimate_rows(path)
        ImportRun.objects.filter(pk=run_id).update(rows_total=total)
        kind = cast(Kind, run.kind)
        result = import_file(
            path=path, kind=kind, actor=run.created_by, allowed_branch_ids=branch_limit(run.created_by),
            profile=_run_profile(run, kind), progress=partial(_record_progress, run_id), rejects_path=target,
            file_name=run.file_name,
        )
    except ImportFileError as error:
        _finish(run_id, status=ImportStatus.FAILED, failure=str(error))
        _remove_upload(path)
        return ImportStatus.FAILED
    except Exception:
        logger.exception("import run %s (%s) failed; the upload is kept: %s", run_id, run.file_name, path)
        _finish(run_id, status=ImportStatus.FAILED, failure=INTERNAL_FAILURE)
        return ImportStatus.FAILED
    _finish(
        run_id, status=ImportStatus.DONE, rows_read=result.read, read_count=result.read,
        created_count=result.created, updated_count=result.updated, unchanged_count=result.unchanged,
        rejected_count=result.rejected, errors=[_error_dict(e) for e in result.errors[:ERRORS_STORED]],
        ignored_columns=list(result.ignored_columns), encoding=result.encoding,
        rejects_file=(str(result.rejects_path.relative_to(imports_root())) if result.rejects_path else ""),
        **({} if run.profile_name or run.mapping else {"profile_name": result.profile}),
    )
    _remove_upload(path)
    return ImportStatus.DONE


def _run_profile(run: ImportRun, kind: Kind) -> Profile | None:
    if run.mapping:
        return saved_profile(name=run.profile_name or "manual", label=run.profile_name or MANUAL_PROFILE_LABEL,
                             kind=kind, mapping=run.mapping)
    return BUILTIN_PROFILES.get(run.profile_name)


def _record_progress(run_id: int, rows_read: int) -> None:
    ImportRun.objects.filter(pk=run_id).update(rows_read=rows_read)


def _finish(run_id: int, **values: Any) -> None:
    ImportRun.objects.filter(pk=run_id).update(finished_at=timezone.now(), **values)


def _error_dict(error: RowError) -> dict[str, Any]:
    return {"line": error.line, "column": error.column, "message": error.message}


def _remove_upload(path: Path) -> None:
    path.unlink(missing_ok=True)


def profile_label(run: ImportRun) -> str:
    """How the page names the layout a run was imported under."""
    if run.profile_name in BUILTIN_PROFILES and not run.mapping:
        return BUILTIN_PROFILES[run.profile_name].label
    if run.mapping and not run.profile_name:
        return MANUAL_PROFILE_LABEL
    return run.profile_name


def mapping_problems(kind: Kind, mapping: Mapping[str, str]) -> list[str]:
    """What is wrong with a {field: header} mapping (pure): unknown fields, required fields left out, a header
    taken by two fields. Empty when it can be used."""
    specs = {spec.name: spec for spec in FIELDS[kind]}
    problems: list[str] = []
    unknown = sorted(set(mapping) - set(specs))
    if unknown:
        problems.append(f"未知字段：{'、'.join(unknown)}")
    missing = [spec.label for spec in FIELDS[kind] if spec.required and not (mapping.get(spec.name) or "").strip()]
    if missing:
        problems.append(f"必须为这些字段选择列：{'、'.join(missing)}")
    fields_of: dict[str, list[str]] = {}
    for name, header in mapping.items():
        if header and name in specs:
            fields_of.setdefault(normalise_header(header), []).append(specs[name].label)
    for header, labels in fields_of.items():
        if len(labels) > 1:
            shown = next(h for f, h in mapping.items() if h and normalise_header(h) == header)
            problems.append(f"列“{shown}”不能同时用于{'、'.join(labels)}")
    return problems


def save_import_profile(*, actor: Any, name: str, kind: str, mapping: Mapping[str, str]) -> ImportProfile:
    """Save a column mapping as a named profile: company-wide when HQ saves it, else the actor's branch's.

    Preconditions: the actor may import. Raises ProfileError (name missing, too long or taken in that scope, a
    built-in's name, mapping_problems). Side effects: one ImportProfile and its audit entry."""
    name = " ".join(name.split())
    problems: list[str] = []
    if kind not in ImportKind.values:
        raise ProfileError(["请选择导入客户资料还是业务事件。"])
    if not name:
        problems.append("请填写导入方案名称")
    elif len(name) > ImportProfile._meta.get_field("name").max_length:  # type: ignore[operator]
        problems.append("导入方案名称最多 50 个字")
    elif name in BUILTIN_PROFILES or name in {p.label for p in BUILTIN_PROFILES.values()}:
        problems.append(f"“{name}”是内置导入方案的名称，请换一个名称")
    clean = {field: header.strip() for field, header in mapping.items() if header and header.strip()}
    problems += mapping_problems(cast(Kind, kind), clean)
    branch = None if sees_all_branches(actor) else getattr(actor, "branch", None)
    if not problems and ImportProfile.objects.filter(branch=branch, kind=kind, name=name).exists():
        problems.append(f"已有名为“{name}”的导入方案，请换一个名称")
    if problems:
        raise ProfileError(problems)
    try:
        with transaction.atomic():
            profile = ImportProfile.objects.create(name=name, kind=kind, mapping=clean, branch=branch,
                                                   created_by=actor)
            record_action(actor=actor, action="create", obj=profile,
                          summary=f"保存导入方案“{name}”（{KIND_NOUNS[kind]}）", changes={"mapping": clean})
    except IntegrityError:
        raise ProfileError([f"已有名为“{name}”的导入方案，请换一个名称"]) from None
    return profile
