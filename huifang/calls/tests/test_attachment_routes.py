"""Attachments through the pages and the API: a scanned paper questionnaire uploaded on the workbench (htmx) or
with `POST /api/v1/callbacks/{id}/attachments`, listed on the callback's section, viewed (audited) at
calls:attachment; another branch's is "not found", and only agents upload."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from huifang.audit.models import AuditEntry
from huifang.callbacks.models import Callback
from huifang.calls.models import Attachment
from huifang.customers.models import Customer
from huifang.org.choices import Role
from huifang.org.models import Branch, User

HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj\n%%EOF"


@pytest.fixture(autouse=True)
def storage_in_tmp(tmp_path: Path, settings: Any) -> None:
    settings.VAR_DIR = tmp_path / "var"


def upload(client: Client, callback: Callback, content: bytes, name: str = "纸质问卷.png") -> Any:
    return client.post(reverse("calls:workbench_attach", args=[callback.pk]),
                       {"file": SimpleUploadedFile(name, content)}, headers=HTMX)


def test_the_agent_uploads_a_scan_sees_it_listed_and_opens_it(login: Callable[[User], Client], agent_a: User,
                                                              customer_a: Customer,
                                                              hold: Callable[..., Callback]) -> None:
    callback = hold(customer_a)
    client = login(agent_a)
    page = client.get(reverse("calls:workbench")).content.decode()
    assert "上传纸质问卷" in page and reverse("calls:workbench_attach", args=[callback.pk]) in page
    answer = upload(client, callback, PNG)
    assert answer.status_code == 200
    attachment = Attachment.objects.get(callback=callback)
    assert attachment.content_type == "image/png" and attachment.original_name == "纸质问卷.png"
    link = reverse("calls:attachment", args=[attachment.pk])
    assert link in answer.content.decode() and "纸质问卷.png" in answer.content.decode()
    assert link in client.get(reverse("calls:workbench")).content.decode()
    shown = client.get(link)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert b"".join(shown.streaming_content) == PNG  # type: ignore[attr-defined]
    assert shown["Content-Disposition"].startswith("inline")
    assert AuditEntry.objects.filter(action="view_attachment", actor_name=agent_a.username).count() == 1


def test_a_file_that_is_no_image_or_pdf_is_refused_with_a_clear_message(
        login: Callable[[User], Client], agent_a: User, customer_a: Customer, hold: Callable[..., Callback]) -> None:
    callback = hold(customer_a)
    client = login(agent_a)
    answer = upload(client, callback, b"MZ\x90\x00not a scan", name="问卷.pdf")
    assert answer.status_code == 200  # htmx swaps no 4xx: the refusal is shown in the list
    assert "附件只能是图片（JPEG、PNG、TIFF）或 PDF" in answer.content.decode()
    assert not Attachment.objects.exists()
    missing = client.post(reverse("calls:workbench_attach", args=[callback.pk]), {})
    assert missing.status_code == 422 and "请选择要上传的文件" in missing.content.decode()


def test_another_branch_gets_not_found(login: Callable[[User], Client], agent_a: User, agent_b: User,
                                       branch_b: Branch, make_user: Callable[..., User], customer_a: Customer,
                                       hold: Callable[..., Callback]) -> None:
    callback = hold(customer_a)
    assert upload(login(agent_a), callback, PDF, name="问卷.pdf").status_code == 200
    attachment = Attachment.objects.get()
    outsider = login(make_user(branch_b, Role.BRANCH_OPERATOR))
    assert outsider.get(reverse("calls:attachment", args=[attachment.pk])).status_code == 404
    other_agent = login(agent_b)
    assert upload(other_agent, callback, PNG).status_code == 404
    api = other_agent.post(f"/api/v1/callbacks/{callback.pk}/attachments", {"file": SimpleUploadedFile("a.png", PNG)})
    assert api.status_code == 404
    assert Attachment.objects.count() == 1
    assert not AuditEntry.objects.filter(action="view_attachment").exists()


def test_only_agents_upload_and_only_who_sees_calls_opens(login: Callable[[User], Client], agent_a: User,
                                                          operator_a: User, branch_a: Branch,
                                                          make_user: Callable[..., User], customer_a: Customer,
                                                          hold: Callable[..., Callback]) -> None:
    callback = hold(customer_a)
    operator = login(operator_a)
    assert upload(operator, callback, PNG).status_code == 403
    api = operator.post(f"/api/v1/callbacks/{callback.pk}/attachments", {"file": SimpleUploadedFile("a.png", PNG)})
    assert api.status_code == 403
    assert upload(login(agent_a), callback, PNG).status_code == 200
    link = reverse("calls:attachment", args=[Attachment.objects.get().pk])
    assert operator.get(link).status_code == 200  # a branch operator sees the branch's calls
    risk_officer = login(make_user(branch_a, Role.RISK_OFFICER))
    assert risk_officer.get(link).status_code == 403
    assert AuditEntry.objects.filter(action="view_attachment").count() == 1


def test_the_api_attaches_a_pdf_and_refuses_anything_else(login: Callable[[User], Client], agent_a: User,
                                                          customer_a: Customer,
                                                          hold: Callable[..., Callback]) -> None:
    callback = hold(customer_a)
    client = login(agent_a)
    url = f"/api/v1/callbacks/{callback.pk}/attachments"
    created = client.post(url, {"file": SimpleUploadedFile("纸质问卷.pdf", PDF)})
    assert created.status_code == 201, created.content
    body = created.json()
    attachment = Attachment.objects.get()
    assert body["id"] == attachment.pk and body["callback_id"] == callback.pk
    assert (body["name"], body["content_type"], body["size"]) == ("纸质问卷.pdf", "application/pdf", len(PDF))
    assert body["url"] == reverse("calls:attachment", args=[attachment.pk])
    refused = client.post(url, {"file": SimpleUploadedFile("x.pdf", b"<html>no</html>")})
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_file" and "只能是图片" in refused.json()["message"]
    assert client.post(url, {}).status_code == 422
    assert Attachment.objects.count() == 1
