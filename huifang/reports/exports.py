"""The report object (tables.Report) as an Excel workbook: a sheet of the headline figures with their formulas,
then one sheet per table, Chinese headers, the total row set apart. The same object feeds the page, so the
numbers in the file are the numbers on the screen."""

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from huifang.reports.tables import Report

_BAD_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")


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
