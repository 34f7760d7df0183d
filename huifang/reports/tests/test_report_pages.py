"""The report pages (/reports/): every report opens for its default period, the Excel and the PDF are the page's
figures and each download is audited, bad periods are refused naming the field, and a branch sees only itself."""

import datetime as dt
import io
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from django.test import Client
from openpyxl import load_workbook
from pypdf import PdfReader

from huifang.audit.models import AuditEntry
from huifang.callbacks.models import Callback
from huifang.calls import rollups
from huifang.calls.models import Call, CallCallback, OutcomeCode
from huifang.campaigns.models import CallbackType
from huifang.customers.models import Customer
from huifang.org.models import Branch, User
from huifang.reports.registry import all_reports

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
Login = Callable[[User], Client]


@pytest.fixture
def october(branch_a: Branch, branch_b: Branch, agent_a: User, agent_b: User) -> None:
    """A few outcomes in October 2026 in both branches: 6 in branch A (4 successes), 3 in branch B (1)."""
    success = OutcomeCode.objects.get(code="success")
    other = OutcomeCode.objects.exclude(code="success").order_by("code").first()
    kind = CallbackType.objects.get(code="new_account")
    moment = dt.datetime(2026, 10, 12, 10, tzinfo=SHANGHAI)
    for branch, agent, results in ((branch_a, agent_a, [success] * 4 + [other] * 2),
                                   (branch_b, agent_b, [success] + [other] * 2)):
        for n, outcome in enumerate(results):
            customer = Customer.objects.create(customer_no=f"{branch.code}{n:09d}", name="客户", branch=branch)
            callback = Callback.objects.create(customer=customer, callback_type=kind, period_key="t", branch=branch,
                                               due_date=dt.date(2026, 10, 31), created_at=moment, updated_at=moment)
            call = Call.objects.create(serial=f"C{branch.code}{n:06d}", agent=agent, customer=customer,
                                       phone_masked="138****0000", branch=branch, state="ended", dialed_at=moment,
                                       answered_at=moment, ended_at=moment + dt.timedelta(seconds=90),
                                       duration_seconds=80)
            CallCallback.objects.create(call=call, callback=callback, outcome=outcome, registered_by=agent,
                                        registered_at=moment + dt.timedelta(seconds=100))
    rollups.rebuild()


@pytest.mark.django_db
@pytest.mark.parametrize("code", [spec.code for spec in all_reports()])
def test_every_report_opens_for_its_default_period(code: str, login: Login, hq_supervisor: User) -> None:
    response = login(hq_supervisor).get(f"/reports/{code}/")
    assert response.status_code == 200, response.content.decode()[:500]
    assert 'id="report-body"' in response.content.decode()


@pytest.mark.django_db
def test_the_catalogue_lists_every_report(login: Login, hq_supervisor: User) -> None:
    html = login(hq_supervisor).get("/reports/").content.decode()
    for spec in all_reports():
        assert f'data-report="{spec.code}"' in html and spec.title in html


@pytest.mark.django_db
def test_the_catalogue_links_the_subscriptions_for_those_who_manage_them(login: Login, hq_supervisor: User,
                                                                        make_user: Callable[..., User],
                                                                        branch_a: Branch) -> None:
    from huifang.org.choices import Role

    assert "/reports/subscriptions/" in login(hq_supervisor).get("/reports/").content.decode()
    inspector = make_user(branch_a, Role.QA_INSPECTOR, username="qa_a")
    assert "/reports/subscriptions/" not in login(inspector).get("/reports/").content.decode()


@pytest.mark.django_db
def test_the_page_shows_the_figures_of_the_period(october: None, login: Login, hq_supervisor: User) -> None:
    html = login(hq_supervisor).get("/reports/daily/?period=2026-10").content.decode()
    assert "2026年10月" in html
    assert "上一期" in html and "?period=2026-09" in html and "?period=2026-11" in html
    # 9 attempts, 5 successes in all; the chart's option travels as JSON beside its canvas
    assert 'data-chart="chart-0-option"' in html and 'id="chart-0-option"' in html


@pytest.mark.django_db
def test_the_excel_download_has_a_sheet_per_table_and_is_audited(october: None, login: Login,
                                                                  hq_supervisor: User) -> None:
    response = login(hq_supervisor).get("/reports/daily/excel/?period=2026-10")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert "2026-10" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["指标", "按回访类型", "按回访人员", "按营业部"]
    by_branch = book["按营业部"]
    assert [cell.value for cell in by_branch[4]][:4] == ["营业部", "外呼次数", "接通次数", "成功回访数"]
    total = [cell.value for cell in by_branch[by_branch.max_row - 2]]
    assert total[0] == "合计" and total[1] == 9 and total[3] == 5
    entry = AuditEntry.objects.get(action="export", object_type="reports.report")
    assert entry.object_id == "daily" and entry.actor_name == hq_supervisor.username
    assert entry.changes == {"report": "daily", "period": "2026-10", "branch_id": None, "format": "xlsx"}


def _ocr(pdf: bytes, page: int, folder: Path) -> str:
    """The text tesseract reads (simplified Chinese) on `page` of `pdf`, rendered at 150 dpi by pdftoppm."""
    for tool in ("pdftoppm", "tesseract"):
        assert shutil.which(tool), f"{tool} 未安装：scripts/test 安装 poppler-utils 与 tesseract-ocr-chi-sim"
    (folder / "report.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", str(page), "-l", str(page), "report.pdf", "page"],
                   cwd=folder, check=True)
    [image] = folder.glob("page-*.png")
    done = subprocess.run(["tesseract", image.name, "-", "-l", "chi_sim"], cwd=folder, check=True,
                          capture_output=True, text=True)
    image.unlink()
    return done.stdout.replace(" ", "")


@pytest.mark.django_db
def test_the_pdf_shows_chinese_page_numbers_print_date_and_signature_lines(
        october: None, login: Login, hq_supervisor: User, branch_a: Branch, tmp_path: Path) -> None:
    response = login(hq_supervisor).get(f"/reports/daily/pdf/?period=2026-10&branch={branch_a.pk}")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    pages = len(reader.pages)
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    assert "回访月报" in first and branch_a.name in first and "2026年10月" in first
    assert f"第 1 页 / 共 {pages} 页" in first and "打印日期" in first
    assert "回访人员（签字）" in last and "客服主管（签字）" in last
    # rendered to an image and read back: the Chinese is drawn with real glyphs, not empty boxes
    seen = _ocr(response.content, 1, tmp_path)
    assert "回访月报" in seen and "营业部" in seen, seen
    assert "签字" in _ocr(response.content, pages, tmp_path)
    entry = AuditEntry.objects.get(action="export", object_type="reports.report")
    assert entry.changes["format"] == "pdf" and entry.branch_code == branch_a.code


@pytest.mark.django_db
def test_a_branch_sees_only_its_own_figures(october: None, login: Login, operator_a: User, branch_a: Branch,
                                            branch_b: Branch) -> None:
    response = login(operator_a).get("/reports/daily/excel/?period=2026-10")
    book = load_workbook(io.BytesIO(response.content))
    names = [row[0].value for row in book["按营业部"].iter_rows(min_row=5) if row[0].value]
    assert branch_a.name in names and branch_b.name not in names
    html = login(operator_a).get("/reports/daily/?period=2026-10").content.decode()
    assert branch_b.name not in html


@pytest.mark.django_db
@pytest.mark.parametrize("view", ["", "excel/", "pdf/"])
def test_another_branch_is_not_found_and_nothing_is_exported(view: str, october: None, login: Login,
                                                             operator_a: User, branch_b: Branch) -> None:
    response = login(operator_a).get(f"/reports/daily/{view}?period=2026-10&branch={branch_b.pk}")
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "named"), [
    ("period=2026-13", "周期"), ("period=yesterday", "周期"), ("kind=fortnight", "周期类型"),
    ("branch=abc", "营业部"),
])
@pytest.mark.parametrize("view", ["", "excel/"])
def test_a_bad_period_or_branch_is_refused_naming_the_field(view: str, query: str, named: str, login: Login,
                                                            hq_supervisor: User) -> None:
    response = login(hq_supervisor).get(f"/reports/daily/{view}?{query}")
    assert response.status_code == 422
    assert named in response.content.decode()
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.django_db
def test_a_period_the_report_is_not_made_for_is_refused(login: Login, hq_supervisor: User) -> None:
    response = login(hq_supervisor).get("/reports/quarterly/?period=2026-10")
    assert response.status_code == 422
    assert "季度回访汇总" in response.content.decode() and "不按月出具" in response.content.decode()


@pytest.mark.django_db
def test_the_quarterly_page_carries_the_filing_panel(login: Login, hq_supervisor: User, branch_a: Branch) -> None:
    html = login(hq_supervisor).get("/reports/quarterly/?period=2026-Q3").content.decode()
    assert 'id="quarterly-filing"' in html and branch_a.name in html


@pytest.mark.django_db
def test_roles_without_reports_are_refused(login: Login, agent_a: User) -> None:
    assert login(agent_a).get("/reports/").status_code == 403
    assert login(agent_a).get("/reports/daily/").status_code == 403
    assert login(agent_a).get("/reports/daily/excel/").status_code == 403


@pytest.mark.django_db
def test_an_unknown_report_is_not_found(login: Login, hq_supervisor: User) -> None:
    assert login(hq_supervisor).get("/reports/no-such-report/").status_code == 404


