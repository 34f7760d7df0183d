"""Recording playback (range requests, audited), download permission, the contact-correction list and export."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from huifang.audit.models import AuditEntry
from huifang.callbacks.models import Callback
from huifang.calls.models import Call, CallRecording
from huifang.calls.services import dial_customer, recording_storage, register_outcome
from huifang.calls.tests.conftest import FakeExchange
from huifang.customers.models import Customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User


@pytest.fixture
def answered(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
             fake_exchange: FakeExchange) -> Call:
    return dial_customer(agent=agent_a, customer=customer_a, callbacks=[hold(customer_a)])


def _content(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_a_range_request_answers_206_with_the_right_bytes(answered: Call, login: Callable[[User], Client],
                                                          agent_a: User) -> None:
    client = login(agent_a)
    recording = CallRecording.objects.get(call=answered)
    with recording_storage().open(recording.storage_key) as stored:
        whole = stored.read()
    url = f"/calls/{answered.serial}/recording/"
    full = client.get(url)
    assert full.status_code == 200 and full["Accept-Ranges"] == "bytes" and _content(full) == whole
    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(whole)}" and part["Content-Length"] == "100"
    assert _content(part) == whole[100:200]
    tail = client.get(url, HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and _content(tail) == whole[-10:]
    assert client.get(url, HTTP_RANGE=f"bytes={len(whole)}-").status_code == 416
    # audited once per listening (the requests from byte 0), not per seek
    assert AuditEntry.objects.filter(action="play_recording", actor_name=agent_a.username).count() == 1


def test_only_allowed_roles_download_and_downloads_are_audited(answered: Call, login: Callable[[User], Client],
                                                               agent_a: User, auditor: User) -> None:
    url = f"/calls/{answered.serial}/recording/download/"
    assert login(agent_a).get(url).status_code == 403
    response = login(auditor).get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert _content(response).startswith(b"RIFF")
    assert AuditEntry.objects.filter(action="download_recording", actor_name=auditor.username).count() == 1


def test_another_branch_gets_404_for_the_recording(answered: Call, branch_b: Branch, make_user: Any,
                                                   login: Callable[[User], Client]) -> None:
    client = login(make_user(branch_b, Role.TEAM_LEAD))
    assert client.get(f"/calls/{answered.serial}/recording/").status_code == 404
    assert client.get(f"/calls/{answered.serial}/").status_code == 404
    assert not AuditEntry.objects.filter(action="play_recording").exists()


def test_the_call_page_lists_the_callbacks_it_served(answered: Call, login: Callable[[User], Client],
                                                     agent_a: User) -> None:
    page = login(agent_a).get(f"/calls/{answered.serial}/").content.decode()
    assert answered.serial in page and "138****1111" in page and "13800001111" not in page


def test_the_correction_list_and_its_excel_export_show_masked_numbers(
        agent_a: User, operator_a: User, customer_a: Customer, hold: Callable[..., Callback],
        fake_exchange: FakeExchange, login: Callable[[User], Client]) -> None:
    fake_exchange.script = ["invalid_number"]
    callback = hold(customer_a)
    call = dial_customer(agent=agent_a, customer=customer_a, callbacks=[callback])
    register_outcome(call=call, callback=callback, outcome_code="invalid_number", by=agent_a)
    client = login(operator_a)
    page = client.get("/calls/corrections/").content.decode()
    assert "0031010000007" in page and "138****1111" in page and "13800001111" not in page and "空号" in page
    export = client.get("/calls/corrections/export/")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("营业部", "客户编号", "客户姓名", "号码（脱敏）")
    assert rows[1][1:5] == ("0031010000007", "王五", "138****1111", "无效号码")
    assert rows[1][6] == call.serial
    assert "13800001111" not in repr(rows)
    assert AuditEntry.objects.filter(action="export", actor_name=operator_a.username).exists()
    assert login(agent_a).get("/calls/corrections/").status_code == 403
