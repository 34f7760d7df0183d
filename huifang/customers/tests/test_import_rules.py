"""The pure parts of an import: dates, ID numbers, amounts, names, profile detection, encodings."""

import datetime as dt
from pathlib import Path

import pytest

from huifang.customers.imports.profiles import detect_profile, normalise_header
from huifang.customers.imports.readers import ImportFileError, detect_encoding, open_table
from huifang.customers.imports.validation import (
    FieldError,
    check_id_number,
    clean_name,
    parse_amount,
    parse_date,
    split_list,
    text_of,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("20240105", dt.date(2024, 1, 5)),
    (20240105, dt.date(2024, 1, 5)),
    ("2024-1-5", dt.date(2024, 1, 5)),
    ("2024/01/05", dt.date(2024, 1, 5)),
    ("2024年1月5日", dt.date(2024, 1, 5)),
    ("２０２４０１０５", dt.date(2024, 1, 5)),
    ("2024-01-05 10:30:00", dt.date(2024, 1, 5)),
    (45296, dt.date(2024, 1, 5)),
    (45296.0, dt.date(2024, 1, 5)),
    (dt.datetime(2024, 1, 5, 9, 0, tzinfo=dt.UTC), dt.date(2024, 1, 5)),
])
def test_dates_are_read_in_every_form_counters_export(raw: object, expected: dt.date) -> None:
    assert parse_date(raw, "开户日期") == expected


@pytest.mark.parametrize("raw", ["20230230", "2023-13-01", "20231301", "明天", "2024-02-30"])
def test_impossible_dates_are_refused_with_the_value(raw: str) -> None:
    with pytest.raises(FieldError, match="开户日期"):
        parse_date(raw, "开户日期")


def test_id_card_numbers_are_checked_and_normalised() -> None:
    assert check_id_number("id_card", "11010519491231002x") == "11010519491231002X"
    assert check_id_number("id_card", "110105491231002") == "110105491231002"
    with pytest.raises(FieldError, match="校验位"):
        check_id_number("id_card", "110105194912310021")
    with pytest.raises(FieldError, match="出生日期"):
        check_id_number("id_card", "110105194913310028")
    with pytest.raises(FieldError, match="18位"):
        check_id_number("id_card", "1101051949")
    assert check_id_number("passport", "e12345678") == "E12345678"


def test_amounts_drop_currency_signs_and_separators_and_refuse_negatives() -> None:
    assert parse_amount("¥1,234.5元", "资产") == "1234.50"
    assert parse_amount("１２３", "资产") == "123.00"
    with pytest.raises(FieldError, match="负数"):
        parse_amount("-5", "资产")
    with pytest.raises(FieldError, match="不是数字"):
        parse_amount("很多", "资产")


def test_names_lose_stray_spaces_but_latin_names_keep_one() -> None:
    assert clean_name("  张 三 ") == "张三"
    assert clean_name("欧阳\u3000娜娜") == "欧阳娜娜"
    assert clean_name("Zhang   San") == "Zhang San"
    assert text_of("ＡＢＣ１２３") == "ABC123"
    assert split_list("基金A，基金B、 理财C") == ["基金A", "基金B", "理财C"]


def test_profiles_are_detected_from_the_header_row() -> None:
    chinese = detect_profile("customers", ["客户编号", "客户姓名 ", "营业部", "手机号码", "开户日期*"])
    assert chinese is not None and chinese.profile.name == "chinese"
    hundsun = detect_profile("customers", ["CLIENT_ID", "client_name", "branch_no", "mobile_tel", "open_date"])
    assert hundsun is not None and hundsun.profile.name == "hundsun"
    assert detect_profile("customers", ["姓名", "电话"]) is None
    assert normalise_header("　客户 编号＊") == "客户编号"


def test_encodings_are_told_apart(tmp_path: Path) -> None:
    text = "客户编号,客户姓名\n001,张伟\n"
    for encoding, expected in [("utf-8", "utf-8-sig"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"),
                               ("gb18030", "gb18030")]:
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        assert detect_encoding(path) == expected
        table = open_table(path)
        assert table.header == ["客户编号", "客户姓名"]
        assert list(table.rows) == [(2, ["001", "张伟"])]


def test_old_excel_files_are_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    with pytest.raises(ImportFileError, match="xlsx"):
        open_table(path)
