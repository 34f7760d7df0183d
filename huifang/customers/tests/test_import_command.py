"""`huifang import customers|events FILE`: counts as JSON, a rejects file, exit status 1 for an unreadable file
and 2 for bad arguments."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from huifang.customers.models import Customer
from huifang.org.models import Branch

CSV = ("客户编号,客户姓名,营业部,手机号码,开户日期\n"
       "0031010000001,张伟,3101,13912345678,20240105\n"
       "0031010000002,李娜,3101,139,20240105\n")


def test_json_prints_the_counts_and_the_rejects_file(tmp_path: Path, branch_a: Branch) -> None:
    path = tmp_path / "c.csv"
    path.write_text(CSV, encoding="utf-8")
    out = StringIO()
    call_command("import", "customers", str(path), "--json", stdout=out)
    counts = json.loads(out.getvalue())
    assert counts == {"read": 2, "created": 1, "updated": 0, "unchanged": 0, "rejected": 1, "profile": "chinese",
                      "rejects_file": str(tmp_path / "c.rejects.csv")}
    assert "0031010000002" in (tmp_path / "c.rejects.csv").read_text(encoding="utf-8-sig")


def test_the_plain_report_names_each_refused_line(tmp_path: Path, branch_a: Branch) -> None:
    path = tmp_path / "c.csv"
    path.write_text(CSV, encoding="utf-8")
    out = StringIO()
    call_command("import", "customers", str(path), "--rejects", str(tmp_path / "bad.csv"), stdout=out)
    assert "第 3 行 手机号码：手机号码不正确" in out.getvalue()
    assert (tmp_path / "bad.csv").exists()


def test_an_unreadable_file_exits_1_and_changes_nothing(tmp_path: Path, branch_a: Branch) -> None:
    path = tmp_path / "c.csv"
    path.write_text("名字\n张伟\n", encoding="utf-8")
    with pytest.raises(CommandError, match="文件未导入") as raised:
        call_command("import", "customers", str(path))
    assert raised.value.returncode == 1
    assert not Customer.objects.exists()


@pytest.mark.parametrize("arguments", [["--profile", "nonesuch"], ["--branch", "9999"]])
def test_bad_arguments_exit_2(tmp_path: Path, branch_a: Branch, arguments: list[str]) -> None:
    path = tmp_path / "c.csv"
    path.write_text(CSV, encoding="utf-8")
    with pytest.raises(CommandError) as raised:
        call_command("import", "customers", str(path), *arguments)
    assert raised.value.returncode == 2
    assert not Customer.objects.exists()


def test_branch_limits_the_command_line_too(tmp_path: Path, branch_a: Branch, branch_b: Branch) -> None:
    path = tmp_path / "c.csv"
    path.write_text(CSV, encoding="utf-8")
    out = StringIO()
    call_command("import", "customers", str(path), "--branch", "4401", "--json", stdout=out)
    assert json.loads(out.getvalue())["rejected"] == 2


def test_a_company_wide_saved_profile_is_used_by_name(tmp_path: Path, branch_a: Branch) -> None:
    from huifang.customers.models import ImportProfile

    ImportProfile.objects.create(name="老柜台", kind="customers", mapping={
        "customer_no": "号", "name": "名", "branch": "部", "mobile": "机", "open_date": "开"})
    path = tmp_path / "odd.csv"
    path.write_text("号,名,部,机,开\n0031010000001,张伟,3101,13912345678,20240105\n", encoding="utf-8")
    out = StringIO()
    call_command("import", "customers", str(path), "--profile", "老柜台", "--json", stdout=out)
    assert json.loads(out.getvalue())["created"] == 1
