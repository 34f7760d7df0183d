"""The contact-correction list as an Excel workbook for the account-opening counter.

Numbers stay masked: the counter looks the customer up by customer number in its own system, where it sees
(and corrects) the clear number; the masked digits say which of the customer's phones it is."""

import io
from collections.abc import Iterable

from django.utils import timezone
from openpyxl import Workbook

from huifang.calls.choices import KIND_TEXT
from huifang.calls.models import ContactCorrection, OutcomeCode

HEADERS = ["营业部", "客户编号", "客户姓名", "号码（脱敏）", "问题", "回访结果", "通话流水号", "发现时间", "已处理"]


def corrections_workbook(rows: Iterable[ContactCorrection]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "号码纠错清单"
    sheet.append(HEADERS)
    labels = dict(OutcomeCode.objects.values_list("code", "label"))
    for row in rows:
        sheet.append([
            row.branch.name, row.customer.customer_no, row.customer.name, row.phone_masked,
            KIND_TEXT.get(row.kind, row.kind),
            labels.get(row.outcome, row.outcome), row.found_by_call.serial if row.found_by_call else "",
            timezone.localtime(row.found_at).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(row.resolved_at).strftime("%Y-%m-%d %H:%M") if row.resolved_at else "",
        ])
    for column, width in zip("ABCDEFGHI", (18, 16, 10, 16, 10, 14, 18, 18, 18), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
