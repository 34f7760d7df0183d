"""The report object (tables.Report) as files: an Excel workbook (a sheet of the headline figures with their
formulas, then one sheet per table, Chinese headers, the total row set apart) and a printable PDF (WeasyPrint,
A4 landscape, Noto CJK: page numbers, date of print, signature lines for 回访人员 and 客服主管). The same object
feeds the page, so the numbers in the files are the numbers on the screen."""

import io
import re

from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from huifang.reports.tables import Report

_BAD_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")
_BAD_FILE_CHARACTERS = re.compile(r'[\\/:*?"<>|\s]+')


def sheet_title(title: str, taken: set[str]) -> str:
    """A valid, unique Excel sheet name for `title`: no []:*?/\\, at most 31 characters."""
    base = _BAD_SHEET_CHARACTERS.sub("_", title).strip() or "表"
    name, n = base[:31], 2
    while name in taken:
        suffix = f"（{n}）"
        name, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(name)
    return name


def _heading(sheet: Worksheet, report: Report) -> None:
    sheet.append([report.title])
    sheet.append([" ".join(part for part in (report.period.label, report.scope) if part)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])


def _widths(sheet: Worksheet) -> None:
    for index, column in enumerate(sheet.iter_cols(min_row=4), start=1):
        longest = max((len(str(cell.value)) for cell in column if cell.value is not None), default=4)
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(8, longest * 2 + 2))


def excel_bytes(report: Report) -> bytes:
    book = Workbook()
    taken: set[str] = set()
    first = book.active
    assert first is not None
    book.remove(first)
    if report.figures:
        sheet = book.create_sheet(sheet_title("指标", taken))
        _heading(sheet, report)
        sheet.append(["指标", "数值", "计算方法"])
        for cell in sheet[4]:
            cell.font = Font(bold=True)
        for figure in report.figures:
            sheet.append([figure.label, figure.value, figure.formula])
        _widths(sheet)
    for table in report.tables:
        sheet = book.create_sheet(sheet_title(table.title, taken))
        _heading(sheet, report)
        sheet.append(table.headers)
        for cell in sheet[4]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(row)
        if table.total is not None:
            sheet.append(table.total)
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        _widths(sheet)
    if not book.sheetnames:
        book.create_sheet(sheet_title(report.title, taken))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(report: Report, ext: str) -> str:
    """`回访日报_2026-11-05_城东营业部.xlsx`: the title, the period key and the branch, without characters a file
    system refuses."""
    parts = [report.title.strip("《》"), report.period.key] + ([report.scope] if report.scope else [])
    stem = _BAD_FILE_CHARACTERS.sub("_", "_".join(parts))
    return f"{stem}.{ext}"


def _css_string(text: str) -> str:
    """`text` as a quoted CSS string for the page margins (inside <style>, where HTML escaping does not apply)."""
    escaped = text.replace("\\", "\\5c ").replace('"', "\\22 ").replace("<", "\\3c ").replace("\n", " ")
    return f'"{escaped}"'


def pdf_bytes(report: Report, *, printed_by: str = "") -> bytes:
    """The printable archive copy (打印存档): every figure and table of the report, the print date and who
    printed it in the footer with 第X页/共Y页, and the signature lines at the end."""
    from weasyprint import HTML  # heavy import: only when a PDF is made

    printed_at = timezone.localtime()
    footer = f"打印日期：{printed_at:%Y-%m-%d %H:%M}" + (f"　打印人：{printed_by}" if printed_by else "")
    html = render_to_string("reports/print.html", {
        "report": report, "header_left": _css_string(report.title), "footer_left": _css_string(footer),
        "header_right": _css_string(" · ".join(part for part in (report.period.label, report.scope) if part))})
    return bytes(HTML(string=html).write_pdf())
