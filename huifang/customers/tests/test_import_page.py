"""The import page (客户资料导入): upload, background run, progress, refusals and their download, saved column
mappings, who may import and branch isolation."""

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from huifang.audit.models import AuditEntry
from huifang.customers.imports import runs, services
from huifang.customers.imports.runs import MappingNeeded, ProfileError, mapping_problems, save_import_profile
from huifang.customers.models import Customer, ImportProfile, ImportRun, ImportStatus
from huifang.org.choices import Role
from huifang.org.models import Branch, User

Login = Callable[[User], Client]
HEADER = "客户编号,客户姓名,营业部,手机号码,开户日期"
GOOD_ROWS = [
    "0031010000001,张伟,3101,13912345678,2024-01-05",
    "0031010000002,李娜,3101,13912345679,2024-01-06",
]


@pytest.fixture(autouse=True)
def jobs_run_at_once(settings: Any, tmp_path: Path) -> None:
    """Jobs run as soon as they are queued (the worker's part), and uploads go to this test's own folder."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.VAR_DIR = tmp_path


def csv_file(name: str, lines: list[str], encoding: str = "utf-8") -> io.BytesIO:
    data = io.BytesIO("\n".join(lines).encode(encoding) + b"\n")
    data.name = name
    return data


def post_and_run(client: Client, capture: Any, url: str, data: dict[str, Any]) -> Any:
    """POST, run the queued job as the commit would (the test's transaction never commits), and follow the
    redirect to the run's page."""
    with capture(execute=True):
        response = client.post(url, data)
    if response.status_code != 302:
        return response
    return client.get(response["Location"])


def only_run() -> ImportRun:
    return ImportRun.objects.get()


def test_upload_imports_the_file_and_the_run_shows_the_counts(
    login: Login, operator_a: User, branch_a: Branch, django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(operator_a)
    page = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:upload"),
                        {"file": csv_file("客户.csv", [HEADER, *GOOD_ROWS]), "kind": "customers", "profile": ""})
    assert page.status_code == 200
    run = only_run()
    assert (run.status, run.read_count, run.created_count, run.rejected_count) == (ImportStatus.DONE, 2, 2, 0)
    assert (run.branch, run.created_by, run.profile_name) == (branch_a, operator_a, "chinese")
    text = page.content.decode()
    assert "已完成" in text and 'data-count="created">2<' in text and "中文表头" in text
    assert 'hx-trigger="every 1s"' not in text  # finished: no more polling
    assert set(Customer.objects.values_list("customer_no", flat=True)) == {"0031010000001", "0031010000002"}
    # the upload (clear customer data) is gone once imported
    assert not runs.upload_path(run).exists()
    listing = client.get(reverse("imports:index")).content.decode()
    assert "客户.csv" in listing and "已完成" in listing

    # the same file again changes nothing
    again = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:upload"),
                         {"file": csv_file("客户.csv", [HEADER, *GOOD_ROWS]), "kind": "customers"})
    assert 'data-count="unchanged">2<' in again.content.decode()


def test_bad_rows_are_listed_and_the_download_holds_exactly_them_in_the_file_encoding(
    login: Login, operator_a: User, branch_a: Branch, branch_b: Branch, django_capture_on_commit_callbacks: Any,
) -> None:
    lines = [
        HEADER,
        GOOD_ROWS[0],
        "0031010000003,王芳,9999,13912345670,2024-01-07",  # line 3: no such branch
        "0031010000004,刘洋,3101,1391234,2024-01-08",  # line 4: malformed mobile
        "0044010000001,陈静,4401,13912345671,2024-01-09",  # line 5: another branch's customer
        GOOD_ROWS[1],
    ]
    path = Path(runs.imports_root()) / "source.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(lines).encode("gbk"))
    client = login(operator_a)
    with path.open("rb") as handle:
        page = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:upload"),
                            {"file": handle, "kind": "customers"})
    run = only_run()
    assert (run.read_count, run.created_count, run.rejected_count) == (5, 2, 3)
    assert run.encoding == "gb18030"
    text = page.content.decode()
    for line, column in ((3, "营业部"), (4, "手机号码"), (5, "营业部")):
        assert f'<tr><td class="num">{line}</td><td>{column}</td>' in text
    assert "9999" in text and "下载被拒绝的行" in text
    assert {(e["line"], e["column"]) for e in run.errors} == {(3, "营业部"), (4, "手机号码"), (5, "营业部")}

    download = client.get(reverse("imports:rejects", args=[run.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"] == "attachment; filename*=utf-8''source.rejects.csv" or \
        'filename="source.rejects.csv"' in download["Content-Disposition"]
    assert "gb18030" in download["Content-Type"]
    body = b"".join(download.streaming_content).decode("gbk")  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == [*HEADER.split(","), "行号", "错误原因"]
    assert [row[:5] for row in rows[1:]] == [lines[2].split(","), lines[3].split(","), lines[4].split(",")]
    assert [row[5] for row in rows[1:]] == ["3", "4", "5"]
    assert all(row[6] for row in rows[1:]) and "9999" in rows[1][6]
    assert not Customer.objects.filter(customer_no__in=["0031010000003", "0031010000004", "0044010000001"]).exists()


def test_a_file_that_cannot_be_read_fails_with_the_reason_and_changes_nothing(
    login: Login, operator_a: User, branch_a: Branch, django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(operator_a)
    binary = io.BytesIO(b"\xff\xfe\x00\x81" * 100)
    binary.name = "export.csv"
    page = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:upload"),
                        {"file": binary, "kind": "customers"})
    run = only_run()
    assert run.status == ImportStatus.FAILED and "编码" in run.failure
    text = page.content.decode()
    assert "失败" in text and run.failure in text and "Traceback" not in text
    assert Customer.objects.count() == 0


def test_a_row_that_breaks_the_file_mid_way_fails_the_run_and_imports_none_of_it(
    login: Login, operator_a: User, branch_a: Branch, django_capture_on_commit_callbacks: Any,
) -> None:
    huge = "0031010000009,王" + "x" * 70_000 + ",3101,13912345670,2024-01-07"  # a cell beyond the csv limit
    page = post_and_run(login(operator_a), django_capture_on_commit_callbacks, reverse("imports:upload"),
                        {"file": csv_file("broken.csv", [HEADER, GOOD_ROWS[0], huge]), "kind": "customers"})
    run = only_run()
    assert run.status == ImportStatus.FAILED
    assert "第 3 行无法解析" in run.failure and run.failure in page.content.decode()
    assert Customer.objects.count() == 0
    assert not AuditEntry.objects.filter(action="import").exists()


def test_an_unexpected_error_fails_the_run_with_a_plain_message(
    login: Login, operator_a: User, branch_a: Branch, django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runs, "import_file", broken)
    page = post_and_run(login(operator_a), django_capture_on_commit_callbacks, reverse("imports:upload"),
                        {"file": csv_file("a.csv", [HEADER, *GOOD_ROWS]), "kind": "customers"})
    run = only_run()
    assert (run.status, run.failure) == (ImportStatus.FAILED, "导入失败：内部错误")
    text = page.content.decode()
    assert "导入失败：内部错误" in text and "disk on fire" not in text
    assert "disk on fire" in caplog.text


def test_the_job_records_progress_while_it_reads(
    operator_a: User, branch_a: Branch, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(services, "CHUNK_ROWS", 2)
    seen: list[int] = []
    record = runs._record_progress

    def spy(run_id: int, rows_read: int) -> None:
        record(run_id, rows_read)
        seen.append(ImportRun.objects.get(pk=run_id).rows_read)

    monkeypatch.setattr(runs, "_record_progress", spy)
    rows = [f"00310100001{n:02d},客户{n},3101,139123456{n:02d},2024-01-05" for n in range(5)]
    data = csv_file("five.csv", [HEADER, *rows])
    run = runs.start_import(actor=operator_a, upload=SimpleUploadedFile("five.csv", data.getvalue()),
                            kind="customers")
    assert run.status == ImportStatus.QUEUED and run.rows_read == 0
    assert runs.execute_import_run(run_id=run.pk) == ImportStatus.DONE
    assert seen == [2, 4, 5]
    run.refresh_from_db()
    assert (run.rows_total, run.rows_read, run.created_count) == (5, 5, 5)
    # a job delivered twice imports once
    assert runs.execute_import_run(run_id=run.pk) == ""


def test_the_status_partial_polls_until_the_run_has_finished(
    login: Login, operator_a: User, branch_a: Branch,
) -> None:
    run = ImportRun.objects.create(kind="customers", file_name="a.csv", stored_file="x/upload.csv",
                                   status=ImportStatus.RUNNING, rows_read=5000, rows_total=20000,
                                   created_by=operator_a, branch=branch_a)
    client = login(operator_a)
    url = reverse("imports:run", args=[run.pk])
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial
    assert 'hx-trigger="every 1s"' in partial and 'value="25"' in partial and "5000" in partial
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.DONE, read_count=20000, created_count=20000)
    partial = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger' not in partial and 'data-count="created">20000<' in partial


def test_a_user_of_another_branch_gets_404_for_the_run_and_its_rejects(
    login: Login, operator_a: User, branch_a: Branch, branch_b: Branch, make_user: Callable[..., User],
    hq_supervisor: User, django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(operator_a)
    post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:upload"),
                 {"file": csv_file("a.csv", [HEADER, GOOD_ROWS[0], "0031010000003,王芳,9999,13912345670,2024-01-07"]),
                  "kind": "customers"})
    run = only_run()
    assert run.rejects_file
    operator_b = make_user(branch_b, Role.BRANCH_OPERATOR)
    other = Client()
    other.force_login(operator_b)
    assert other.get(reverse("imports:run", args=[run.pk])).status_code == 404
    assert other.get(reverse("imports:rejects", args=[run.pk])).status_code == 404
    assert other.get(reverse("imports:run", args=[987654])).status_code == 404
    assert "a.csv" not in other.get(reverse("imports:index")).content.decode()
    hq = Client()
    hq.force_login(hq_supervisor)
    assert hq.get(reverse("imports:rejects", args=[run.pk])).status_code == 200
    assert "a.csv" in hq.get(reverse("imports:index")).content.decode()


def test_a_branch_user_imports_only_into_the_own_branch(
    login: Login, operator_a: User, branch_a: Branch, branch_b: Branch, django_capture_on_commit_callbacks: Any,
) -> None:
    post_and_run(login(operator_a), django_capture_on_commit_callbacks, reverse("imports:upload"),
                 {"file": csv_file("a.csv", [HEADER, "0044010000001,陈静,4401,13912345671,2024-01-09"]),
                  "kind": "customers"})
    run = only_run()
    assert (run.created_count, run.rejected_count) == (0, 1)
    assert not Customer.objects.exists()


def test_who_may_import(login: Login, agent_a: User, operator_a: User, hq_supervisor: User, admin_user: User,
                        auditor: User) -> None:
    for user in (operator_a, hq_supervisor, admin_user):
        page = login(user).get(reverse("imports:index"))
        assert page.status_code == 200, user
        assert "客户资料导入" in page.content.decode()
        assert reverse("imports:index") in login(user).get("/").content.decode()  # the navigation's link
    for user in (agent_a, auditor):
        client = login(user)
        assert client.get(reverse("imports:index")).status_code == 403
        assert client.post(reverse("imports:upload"), {"kind": "customers"}).status_code == 403
        assert reverse("imports:index") not in client.get("/").content.decode()


@pytest.mark.parametrize(("name", "reason"), [("export.xls", "不支持的文件类型"), ("notes.pdf", "不支持的文件类型"),
                                              ("big.csv", "文件太大")])
def test_wrong_type_and_oversized_files_are_refused_with_a_reason(
    login: Login, operator_a: User, branch_a: Branch, monkeypatch: pytest.MonkeyPatch, name: str, reason: str,
) -> None:
    monkeypatch.setattr(runs, "MAX_UPLOAD_BYTES", 50)
    response = login(operator_a).post(reverse("imports:upload"), {
        "file": csv_file(name, [HEADER, *GOOD_ROWS]), "kind": "customers"})
    assert response.status_code == 422
    assert reason in response.content.decode()
    assert not ImportRun.objects.exists()
    assert not any(runs.imports_root().glob("*/upload.*"))


def test_a_profile_of_the_other_kind_is_refused(login: Login, operator_a: User, branch_a: Branch) -> None:
    response = login(operator_a).post(reverse("imports:upload"), {
        "file": csv_file("a.csv", [HEADER, *GOOD_ROWS]), "kind": "customers", "profile": "builtin:chinese_events"})
    assert response.status_code == 422
    assert "不是用于客户资料的" in response.content.decode()


UNUSUAL_HEADER = "编号,户名,机构代码,联系手机,开立日,备注说明"
UNUSUAL_ROWS = ["0031010000011,周杰,3101,13912340011,2024-02-01,老客户",
                "0031010000012,吴敏,3101,13912340012,2024-02-02,"]


def test_a_header_that_fits_no_profile_is_mapped_saved_and_used_for_the_next_file(
    login: Login, operator_a: User, branch_a: Branch, django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(operator_a)
    form = client.post(reverse("imports:upload"), {
        "file": csv_file("crm.csv", [UNUSUAL_HEADER, UNUSUAL_ROWS[0]]), "kind": "customers"})
    assert form.status_code == 200
    text = form.content.decode()
    assert "缺少必需的列" in text and "户名" in text and 'name="field_customer_no"' in text
    assert not ImportRun.objects.exists()
    token = form.context["form"]["token"].value()

    mapping = {"field_customer_no": "编号", "field_name": "户名", "field_branch": "机构代码",
               "field_mobile": "联系手机", "field_open_date": "开立日"}
    page = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:mapping"),
                        {"token": token, "save_as": "CRM 导出", **mapping})
    assert page.status_code == 200
    run = only_run()
    assert (run.status, run.created_count, run.profile_name) == (ImportStatus.DONE, 1, "CRM 导出")
    assert run.ignored_columns == ["备注说明"]
    assert "备注说明" in page.content.decode()
    profile = ImportProfile.objects.get()
    assert (profile.name, profile.kind, profile.branch) == ("CRM 导出", "customers", branch_a)
    assert profile.mapping == {"customer_no": "编号", "name": "户名", "branch": "机构代码", "mobile": "联系手机",
                               "open_date": "开立日"}
    # the token is used up
    assert client.post(reverse("imports:mapping"), {"token": token, **mapping}).status_code == 404

    # the next file of that layout is recognised by the saved profile, and it is offered on the form
    assert "CRM 导出（客户）" in client.get(reverse("imports:index")).content.decode()
    page = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:upload"),
                        {"file": csv_file("crm2.csv", [UNUSUAL_HEADER, *UNUSUAL_ROWS]), "kind": "customers"})
    second = ImportRun.objects.get(file_name="crm2.csv")
    assert (second.status, second.created_count, second.unchanged_count) == (ImportStatus.DONE, 1, 1)
    assert second.profile_name == "CRM 导出"
    # chosen by name, too
    page = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:upload"), {
        "file": csv_file("crm3.csv", [UNUSUAL_HEADER, *UNUSUAL_ROWS]), "kind": "customers",
        "profile": f"saved:{profile.pk}"})
    assert ImportRun.objects.get(file_name="crm3.csv").unchanged_count == 2


def test_a_mapping_used_once_without_a_name_saves_no_profile(
    login: Login, operator_a: User, branch_a: Branch, django_capture_on_commit_callbacks: Any,
) -> None:
    client = login(operator_a)
    form = client.post(reverse("imports:upload"), {
        "file": csv_file("crm.csv", [UNUSUAL_HEADER, *UNUSUAL_ROWS]), "kind": "customers"})
    token = form.context["form"]["token"].value()
    page = post_and_run(client, django_capture_on_commit_callbacks, reverse("imports:mapping"), {
        "token": token, "field_customer_no": "编号", "field_name": "户名", "field_branch": "机构代码",
        "field_mobile": "联系手机", "field_open_date": "开立日"})
    run = only_run()
    assert (run.created_count, run.profile_name) == (2, "")
    assert "本次手动设置的列对应" in page.content.decode()
    assert not ImportProfile.objects.exists()


def test_the_mapping_form_refuses_missing_fields_and_a_column_used_twice(
    login: Login, operator_a: User, branch_a: Branch,
) -> None:
    client = login(operator_a)
    form = client.post(reverse("imports:upload"), {
        "file": csv_file("crm.csv", [UNUSUAL_HEADER, *UNUSUAL_ROWS]), "kind": "customers"})
    token = form.context["form"]["token"].value()
    response = client.post(reverse("imports:mapping"), {
        "token": token, "field_customer_no": "编号", "field_name": "编号", "field_branch": "机构代码",
        "field_open_date": "开立日"})
    assert response.status_code == 422
    assert "列“编号”不能同时用于客户编号、客户姓名" in response.content.decode()
    response = client.post(reverse("imports:mapping"), {"token": token, "field_customer_no": "编号"})
    assert response.status_code == 422
    assert "必须为这些字段选择列" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_another_session_cannot_use_a_waiting_upload(
    login: Login, operator_a: User, branch_a: Branch, make_user: Callable[..., User],
) -> None:
    form = login(operator_a).post(reverse("imports:upload"), {
        "file": csv_file("crm.csv", [UNUSUAL_HEADER, *UNUSUAL_ROWS]), "kind": "customers"})
    token = form.context["form"]["token"].value()
    other = Client()
    other.force_login(make_user(branch_a, Role.BRANCH_OPERATOR))
    assert other.post(reverse("imports:mapping"), {"token": token, "field_customer_no": "编号"}).status_code == 404


def test_save_import_profile_checks_name_and_mapping(operator_a: User, hq_supervisor: User) -> None:
    good = {"customer_no": "编号", "name": "户名", "branch": "机构", "open_date": "开立日"}
    with pytest.raises(ProfileError, match="请填写导入方案名称"):
        save_import_profile(actor=operator_a, name="  ", kind="customers", mapping=good)
    with pytest.raises(ProfileError, match="内置导入方案"):
        save_import_profile(actor=operator_a, name="chinese", kind="customers", mapping=good)
    with pytest.raises(ProfileError, match="营业部"):
        save_import_profile(actor=operator_a, name="甲", kind="customers", mapping={**good, "branch": ""})
    saved = save_import_profile(actor=operator_a, name="甲", kind="customers", mapping=good)
    assert saved.branch == operator_a.branch
    assert AuditEntry.objects.filter(action="create", object_type="customers.importprofile").exists()
    with pytest.raises(ProfileError, match="已有名为“甲”的导入方案"):
        save_import_profile(actor=operator_a, name="甲", kind="customers", mapping=good)
    company = save_import_profile(actor=hq_supervisor, name="甲", kind="customers", mapping=good)
    assert company.branch is None
    with pytest.raises(ProfileError, match="已有名为"):
        save_import_profile(actor=hq_supervisor, name="甲", kind="customers", mapping=good)
    # events need their own required fields
    assert mapping_problems("events", {"customer_no": "a"}) == ["必须为这些字段选择列：事件类型、发生时间"]


def test_saved_profiles_of_another_branch_are_neither_offered_nor_usable(
    login: Login, operator_a: User, branch_b: Branch, make_user: Callable[..., User], hq_supervisor: User,
) -> None:
    mapping = {"customer_no": "编号", "name": "户名", "branch": "机构代码", "open_date": "开立日"}
    own = save_import_profile(actor=operator_a, name="浦东方案", kind="customers", mapping=mapping)
    save_import_profile(actor=hq_supervisor, name="全公司方案", kind="customers", mapping=mapping)
    operator_b = make_user(branch_b, Role.BRANCH_OPERATOR)
    client = Client()
    client.force_login(operator_b)
    page = client.get(reverse("imports:index")).content.decode()
    assert "全公司方案" in page and "浦东方案" not in page
    response = client.post(reverse("imports:upload"), {
        "file": csv_file("crm.csv", [UNUSUAL_HEADER, *UNUSUAL_ROWS]), "kind": "customers",
        "profile": f"saved:{own.pk}"})
    assert response.status_code == 422 and "选择一个有效的选项" in response.content.decode()
    assert not ImportRun.objects.exists()
    # nor through the service, whatever the form offers
    with pytest.raises(runs.UploadRefused, match="所选的导入方案不存在"):
        runs.start_import(actor=operator_b, upload=SimpleUploadedFile("crm.csv", b"a,b\n1,2\n"), kind="customers",
                          profile_choice=f"saved:{own.pk}")


def test_start_import_asks_for_the_columns_when_the_header_fits_no_profile(operator_a: User) -> None:
    data = csv_file("crm.csv", [UNUSUAL_HEADER, *UNUSUAL_ROWS]).getvalue()
    with pytest.raises(MappingNeeded) as need:
        runs.start_import(actor=operator_a, upload=SimpleUploadedFile("crm.csv", data), kind="customers")
    assert need.value.header == UNUSUAL_HEADER.split(",")
    assert need.value.pending.file_name == "crm.csv"
    with pytest.raises(runs.UploadRefused):
        runs.start_import(actor=operator_a, upload=runs.PendingUpload(token="../../etc", file_name="x.csv"),
                          kind="customers")


@pytest.mark.browser
def test_in_a_browser_the_counts_appear_by_polling_once_the_worker_has_run(
    live_server: Any, operator_a: User, branch_a: Branch, settings: Any, tmp_path: Path,
) -> None:
    from django.core.management import call_command

    from huifang.conftest import PASSWORD
    from huifang.tests.browser import chromium

    # The real queue (the database backend): the page waits until a worker has taken the job.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    source = tmp_path / "浦东客户.csv"
    source.write_bytes("\n".join([HEADER, *GOOD_ROWS, "0031010000003,王芳,9999,13912345670,2024-01-07"])
                      .encode("gbk"))
    with chromium() as browser:
        context = browser.new_context(locale="zh-CN")
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", "operator_a")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.click("nav >> text=数据导入")
        page.set_input_files("#id_file", str(source))
        page.click("text=上传并导入")
        page.wait_for_selector("#run-status-label:has-text('排队中')")
        assert page.locator("#run-status[hx-trigger='every 1s']").count() == 1
        call_command("worker", batch=True, interval=0, verbosity=0)
        page.wait_for_selector("[data-count='created']", timeout=10_000)
        assert page.inner_text("[data-count='created']") == "2"
        assert page.inner_text("[data-count='rejected']") == "1"
        assert "营业部不存在" in page.inner_text("#run-errors")
        assert page.locator("#run-status[hx-trigger]").count() == 0
        page.screenshot(path="/tmp/huifang-import-run.png", full_page=True)
        with page.expect_download() as download:
            page.click("#rejects-link")
        assert download.value.suggested_filename == "浦东客户.rejects.csv"
        rejected = Path(download.value.path()).read_bytes().decode("gbk")
        assert "0031010000003" in rejected and "0031010000001" not in rejected
        context.close()


def test_business_events_are_imported_for_the_own_branch_customers_only(
    login: Login, operator_a: User, customer_a: Customer, customer_b: Customer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    before = customer_a.events.count()
    lines = ["客户编号,事件类型,发生时间,流水号,金额",
             "0031010000001,transfer_out,2025-07-01 10:00:00,S1,500000",
             "0044010000001,transfer_out,2025-07-01 11:00:00,S2,100"]  # branch B's customer
    page = post_and_run(login(operator_a), django_capture_on_commit_callbacks, reverse("imports:upload"),
                        {"file": csv_file("events.csv", lines), "kind": "events"})
    run = only_run()
    assert (run.status, run.kind, run.created_count, run.rejected_count) == (ImportStatus.DONE, "events", 1, 1)
    assert run.profile_name == "chinese_events" and "业务事件" in page.content.decode()
    assert customer_a.events.count() == before + 1
    assert not customer_b.events.filter(external_id="S2").exists()
