"""Customer imports from counter exports: exactly the bad rows refused, with line, column and reason; the same
file twice changes nothing; changes are kept as events; an unreadable file changes nothing."""

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from huifang.audit.models import AuditEntry
from huifang.customers.imports.profiles import BUILTIN_PROFILES
from huifang.customers.imports.readers import ImportFileError
from huifang.customers.imports.services import ImportResult, import_file
from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.lib.fieldcrypt import field_cipher
from huifang.org.choices import Role
from huifang.org.models import Branch, User

HEADER = "客户编号,客户姓名,营业部,手机号码,开户日期,客户状态,风险等级,证件类型,证件号码,客户经理工号,资产\n"
GOOD_ID = "330106195511180131"  # check digit 1 is right
GOOD_ID_2 = "11010519491231002X"


def run(path: Path, *, allowed: set[int] | None = None, **extra: Any) -> ImportResult:
    return import_file(path=path, kind="customers", actor=None, allowed_branch_ids=allowed, **extra)


def reasons(result: ImportResult) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for error in result.errors:
        found.setdefault(error.line, []).append((error.column, error.message))
    return found


@pytest.fixture
def manager(branch_a: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_a, Role.CLIENT_MANAGER, agent_no="M001", name="王经理")


@pytest.fixture
def other_manager(branch_a: Branch, make_user: Callable[..., User]) -> User:
    return make_user(branch_a, Role.CLIENT_MANAGER, agent_no="M002", name="赵经理")


@pytest.fixture
def messy_gbk_export(tmp_path: Path, branch_a: Branch, branch_b: Branch, manager: User) -> Path:
    """What a branch really exports: GBK, full-width digits, stray spaces, bad phones and dates, a repeat."""
    rows = [
        f"0031010000001,张伟,3101,13912345678,20240105,正常,C3,身份证,{GOOD_ID},M001,123456.78",  # 2 good
        # 3 good: full-width digits, stray spaces
        "００３１０１００００００２, 李 娜 ,3101, 139 1234 5679 ,2024-01-06,正常,稳健型,,,,",
        "0031010000003,王芳,3101,,20240107,正常,C2,,,,",  # 4 no phone at all
        "0031010000004,刘洋,3101,1391234,20240108,正常,C2,,,,",  # 5 malformed mobile
        "0031010000005,陈静,3101,13912345680,20230230,正常,C2,,,,",  # 6 impossible date
        "0031010000001,张伟,3101,13912345678,20240105,正常,C3,,,,",  # 7 the same customer again
        "0044010000001,赵强,4401,18687654321,20240109,休眠,C4,,,,",  # 8 good, branch B
        "0031010000006,孙磊,9999,13912345681,20240110,正常,C1,,,,",  # 9 unknown branch
        "0031010000007,周杰,3101,13912345682,20240111,正常,C1,身份证,330106195511180132,,",  # 10 bad check digit
        "0031010000008,吴敏,3101,13912345683,20240112,正常,C9,,,M999,",  # 11 bad risk level, unknown manager
        "",  # blank line: skipped, not counted
        "0031010000009,郑秀英,3101,021-62345678,20240113,正常,C2,,,,",  # 13 a landline in the mobile column
        "0031010000010,冯超,3101,13912345684,20240114,正常,C2,,,,",  # 14 good
    ]
    path = tmp_path / "客户导出.csv"
    path.write_bytes((HEADER + "\n".join(rows) + "\n").encode("gbk"))
    return path


def test_a_messy_gbk_export_imports_the_good_rows_and_names_every_bad_one(messy_gbk_export: Path,
                                                                          tmp_path: Path) -> None:
    result = run(messy_gbk_export, rejects_path=tmp_path / "rejects.csv")
    assert result.encoding == "gb18030" and result.profile == "chinese"
    assert result.counts() == {"read": 12, "created": 4, "updated": 0, "unchanged": 0, "rejected": 8}
    found = reasons(result)
    assert sorted(found) == [4, 5, 6, 7, 9, 10, 11, 13]
    assert found[4] == [("手机号码", "缺少联系电话：手机号码和固定电话都为空")]
    assert found[5][0][0] == "手机号码" and "11位" in found[5][0][1]
    assert found[6] == [("开户日期", "开户日期不是有效日期：20230230")]
    assert found[7][0][0] == "客户编号" and "重复" in found[7][0][1] and "第 2 条为准" in found[7][0][1]
    assert found[9] == [("营业部", "营业部不存在：9999")]
    assert found[10] == [("证件号码", "身份证号码校验位不正确")]
    assert {column for column, _ in found[11]} == {"风险等级", "客户经理工号"}
    assert found[13][0][0] == "手机号码" and "固定电话" in found[13][0][1]
    assert set(Customer.objects.values_list("customer_no", flat=True)) == {
        "0031010000001", "0031010000002", "0044010000001", "0031010000010"}
    li_na = Customer.objects.get(customer_no="0031010000002")
    assert li_na.name == "李娜" and li_na.risk_rating == "C3" and li_na.open_date == dt.date(2024, 1, 6)
    assert li_na.contact_points.get().number == "13912345679"
    assert Customer.objects.get(customer_no="0044010000001").status == "dormant"


def test_the_rejects_file_holds_exactly_the_bad_rows_in_the_input_encoding(messy_gbk_export: Path,
                                                                           tmp_path: Path) -> None:
    target = tmp_path / "rejects.csv"
    run(messy_gbk_export, rejects_path=target)
    text = target.read_bytes().decode("gbk")
    lines = text.strip().splitlines()
    assert lines[0] == HEADER.strip() + ",行号,错误原因"
    assert [line.split(",")[-2] for line in lines[1:]] == ["4", "5", "6", "7", "9", "10", "11", "13"]
    assert "开户日期：开户日期不是有效日期：20230230" in lines[3]


def test_the_same_file_twice_changes_nothing_the_second_time(messy_gbk_export: Path) -> None:
    run(messy_gbk_export)
    before = list(Customer.objects.order_by("id").values())
    phones = list(ContactPoint.objects.order_by("id").values())
    events = CustomerEvent.objects.count()
    again = run(messy_gbk_export)
    assert again.counts() == {"read": 12, "created": 0, "updated": 0, "unchanged": 4, "rejected": 8}
    assert list(Customer.objects.order_by("id").values()) == before
    assert list(ContactPoint.objects.order_by("id").values()) == phones
    assert CustomerEvent.objects.count() == events


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8-sig") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("rebuild_from", [50_000, 1], ids=["indexes-kept", "indexes-rebuilt"])
def test_a_changed_mobile_and_manager_are_kept_as_changes(tmp_path: Path, branch_a: Branch, manager: User,
                                                          other_manager: User, rebuild_from: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from huifang.customers.imports import loader

    monkeypatch.setattr(loader, "REBUILD_INDEXES_FROM", rebuild_from)
    first = _write(tmp_path, "day1.csv", HEADER + f"0031010000001,张伟,3101,13912345678,20240105,正常,C3,身份证,"
                   f"{GOOD_ID},M001,100\n")
    run(first)
    second = _write(tmp_path, "day2.csv", HEADER + f"0031010000001,张伟,3101,13800001111,20240105,正常,C3,身份证,"
                    f"{GOOD_ID},M002,100\n")
    result = run(second)
    assert result.counts()["updated"] == 1
    customer = Customer.objects.get(customer_no="0031010000001")
    assert customer.manager == other_manager
    phones = {p.number: (p.is_primary, p.validity) for p in customer.contact_points.all()}
    assert phones == {"13800001111": (True, "unknown"), "13912345678": (False, "changed")}
    changed = CustomerEvent.objects.get(customer=customer, type="manager_changed")
    assert changed.data["old_manager"] == "M001" and changed.data["new_manager"] == "M002"
    info = CustomerEvent.objects.get(customer=customer, type="info_changed")
    assert info.data == {"fields": ["mobile"]}
    assert info.source == "import"


def test_an_empty_optional_cell_never_wipes_a_stored_value(tmp_path: Path, branch_a: Branch, manager: User) -> None:
    run(_write(tmp_path, "full.csv", HEADER + f"0031010000001,张伟,3101,13912345678,20240105,正常,C3,身份证,"
               f"{GOOD_ID},M001,100\n"))
    result = run(_write(tmp_path, "sparse.csv", HEADER + "0031010000001,张伟,3101,13912345678,20240105,,,,,,\n"))
    assert result.counts()["unchanged"] == 1
    customer = Customer.objects.get()
    assert (customer.risk_rating, customer.manager, customer.id_no_masked) == ("C3", manager, "330***********0131")


def test_closing_an_account_records_the_event(tmp_path: Path, branch_a: Branch) -> None:
    run(_write(tmp_path, "a.csv", HEADER + "0031010000001,张伟,3101,13912345678,20240105,正常,,,,,\n"))
    run(_write(tmp_path, "b.csv", HEADER + "0031010000001,张伟,3101,13912345678,20240105,销户,,,,,\n"))
    event = CustomerEvent.objects.get(type="account_closed")
    assert event.data == {"old_status": "normal", "new_status": "closed"}


def test_id_numbers_are_stored_encrypted_masked_and_hashed(tmp_path: Path, branch_a: Branch) -> None:
    run(_write(tmp_path, "ids.csv", HEADER + f"0031010000001,张伟,3101,13912345678,20240105,,,身份证,"
               f"{GOOD_ID_2.lower()},,\n"))
    customer = Customer.objects.get()
    assert customer.id_type == "id_card"
    assert customer.id_no_masked == "110***********002X"
    assert GOOD_ID_2 not in customer.id_no_encrypted
    assert field_cipher().decrypt(customer.id_no_encrypted) == GOOD_ID_2
    assert customer.id_no_hash == field_cipher().lookup_hash(GOOD_ID_2)


def test_hundsun_exports_are_recognised_with_their_codes(tmp_path: Path, branch_a: Branch) -> None:
    text = ("client_id,client_name,branch_no,mobile_tel,open_date,client_status,corp_risk_level,id_kind,id_no,"
            "fund_account\n"
            f"0031010000001,张伟,3101,13912345678,20240105,3,4,0,{GOOD_ID},31010001\n")
    result = run(_write(tmp_path, "hs.csv", text, "utf-8"))
    assert result.profile == "hundsun" and result.counts()["created"] == 1
    assert result.ignored_columns == ["fund_account"]
    customer = Customer.objects.get()
    assert (customer.status, customer.risk_rating, customer.id_type) == ("closed", "C4", "id_card")


def test_a_named_profile_is_used_even_when_another_would_match(tmp_path: Path, branch_a: Branch) -> None:
    path = _write(tmp_path, "x.csv", HEADER + "0031010000001,张伟,3101,13912345678,20240105,,,,,,\n")
    with pytest.raises(ImportFileError, match="客户编号"):
        run(path, profile=BUILTIN_PROFILES["hundsun"])
    assert not Customer.objects.exists()


def test_xlsx_keeps_leading_zeros_and_reads_dates_and_excel_serials(tmp_path: Path, branch_a: Branch) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["客户编号", "客户姓名", "营业部", "手机号码", "开户日期"])
    sheet.append([31010000001, "张伟", 3101, 13912345678, dt.datetime(2024, 1, 5, tzinfo=dt.UTC).replace(tzinfo=None)])
    sheet.append(["0031010000002", "李娜", "3101", "13912345679", 45297])  # serial 45297 = 2024-01-06
    sheet.append(["0031010000003", "王芳", "3101", "13912345670", 20240107])
    sheet.cell(row=2, column=1).number_format = "0000000000000"
    path = tmp_path / "客户.xlsx"
    book.save(path)
    result = run(path, rejects_path=tmp_path / "r.csv")
    assert result.counts()["created"] == 3, result.errors
    opened = dict(Customer.objects.values_list("customer_no", "open_date"))
    assert opened == {"0031010000001": dt.date(2024, 1, 5), "0031010000002": dt.date(2024, 1, 6),
                      "0031010000003": dt.date(2024, 1, 7)}


@pytest.mark.parametrize(("content", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xff\xfe", "编码"),
    ("姓名,电话\n张伟,13912345678\n".encode(), "缺少必需的列"),
    (b"", "空"),
    ("客户编号,客户姓名,营业部,手机号码,开户日期\n0031010000001,张伟,3101,13912345678,20240105\n"
     "0031010000002,\"李娜,3101,13912345679,20240105\n".encode(), "无法解析"),
])
def test_a_file_that_cannot_be_read_changes_nothing(tmp_path: Path, branch_a: Branch, content: bytes,
                                                    message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message):
        run(path)
    assert not Customer.objects.exists() and not ContactPoint.objects.exists()
    assert not AuditEntry.objects.filter(action="import").exists()


def test_an_importer_limited_to_a_branch_neither_creates_nor_changes_another_branchs_customers(
        tmp_path: Path, branch_a: Branch, branch_b: Branch) -> None:
    run(_write(tmp_path, "a.csv", HEADER + "0031010000001,张伟,3101,13912345678,20240105,,,,,,\n"))
    text = HEADER + ("0031010000001,张伟改,4401,13912345678,20240105,,,,,,\n"
                     "0031010000002,李娜,3101,13912345679,20240105,,,,,,\n"
                     "0044010000001,赵强,4401,18687654321,20240109,,,,,,\n")
    result = run(_write(tmp_path, "b.csv", text), allowed={branch_b.pk})
    assert result.counts() == {"read": 3, "created": 1, "updated": 0, "unchanged": 0, "rejected": 2}
    found = reasons(result)
    assert found[2] == [("营业部", "客户 0031010000001 属于其他营业部，无权修改")]
    assert found[3] == [("营业部", "无权导入营业部 3101 的客户")]
    assert Customer.objects.get(customer_no="0031010000001").name == "张伟"


def test_every_import_is_audited_with_its_counts(messy_gbk_export: Path, operator_a: User) -> None:
    import_file(path=messy_gbk_export, kind="customers", actor=operator_a, allowed_branch_ids=None)
    entry = AuditEntry.objects.get(action="import")
    assert entry.actor == operator_a and entry.changes["created"] == 4 and "客户导出.csv" in entry.summary


def _index_definitions() -> set[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                           "('customers_customer', 'customers_contactpoint')")
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                           "('customers_customer', 'customers_contactpoint')")
        return set(cursor.fetchall())


def test_a_first_large_load_rebuilds_the_indexes_it_dropped_exactly(messy_gbk_export: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from huifang.customers.imports import loader

    monkeypatch.setattr(loader, "REBUILD_INDEXES_FROM", 1)
    before = _index_definitions()
    result = run(messy_gbk_export)
    assert result.counts()["created"] == 4
    assert _index_definitions() == before
    assert Customer.objects.filter(name="张伟").count() == 1  # served by the rebuilt name index
    assert set(ContactPoint.objects.values_list("customer__customer_no", flat=True)) == set(
        Customer.objects.values_list("customer_no", flat=True))


def test_new_customers_get_ids_after_every_id_ever_given(tmp_path: Path, branch_a: Branch) -> None:
    run(_write(tmp_path, "a.csv", HEADER + "0031010000001,张伟,3101,13912345678,20240105,,,,,,\n"))
    first = Customer.objects.get()
    first_id = first.pk
    first.delete()
    run(_write(tmp_path, "b.csv", HEADER + "0031010000002,李娜,3101,13912345679,20240105,,,,,,\n"))
    assert Customer.objects.get().pk > first_id
    assert Customer.objects.create(customer_no="9", name="王", branch=branch_a).pk > first_id + 1


def test_validating_in_worker_processes_gives_the_same_result(messy_gbk_export: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    from huifang.customers.imports import services

    monkeypatch.setattr(services, "PARALLEL_FROM_BYTES", 0)
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    settings.IMPORT_WORKERS = 2
    result = run(messy_gbk_export, rejects_path=tmp_path / "r.csv")
    assert result.counts() == {"read": 12, "created": 4, "updated": 0, "unchanged": 0, "rejected": 8}
    assert sorted(reasons(result)) == [4, 5, 6, 7, 9, 10, 11, 13]


def test_a_customer_made_without_an_opening_date_gets_the_imported_one(tmp_path: Path, branch_a: Branch) -> None:
    Customer.objects.create(customer_no="0031010000001", name="张伟", branch=branch_a)
    result = run(_write(tmp_path, "a.csv", HEADER + "0031010000001,张伟,3101,13912345678,20240105,,,,,,\n"))
    assert result.counts()["updated"] == 1
    assert Customer.objects.get().open_date == dt.date(2024, 1, 5)


def _foreign_keys() -> set[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            return set()
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f' AND "
                       "conrelid IN ('customers_customer'::regclass, 'customers_contactpoint'::regclass)")
        return set(cursor.fetchall())


def test_a_first_large_load_keeps_its_foreign_keys_and_still_refuses_what_they_forbid(
        messy_gbk_export: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.db import IntegrityError, transaction

    from huifang.customers.imports import loader

    monkeypatch.setattr(loader, "REBUILD_INDEXES_FROM", 1)
    before = _foreign_keys()
    run(messy_gbk_export)
    assert _foreign_keys() == before
    customer = Customer.objects.first()
    assert customer is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(branch_id=987654)
        from django.db import connection

        connection.check_constraints()
