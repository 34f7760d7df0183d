"""Attachments: scanned paper questionnaires, images and PDFs only, judged by content, size-limited."""

import io
from collections.abc import Callable

import pytest

from huifang.audit.models import AuditEntry
from huifang.callbacks.models import Callback
from huifang.calls import services
from huifang.calls.services import CallError, attach_file
from huifang.calls.tests.conftest import FakeExchange
from huifang.customers.models import Customer
from huifang.org.models import User


def test_a_pdf_is_stored_with_its_checksum(agent_a: User, customer_a: Customer, hold: Callable[..., Callback],
                                           fake_exchange: FakeExchange) -> None:
    attachment = attach_file(callback=hold(customer_a), by=agent_a, name="纸质问卷.pdf",
                             source=io.BytesIO(b"%PDF-1.4\n...\n%%EOF"))
    assert attachment.content_type == "application/pdf" and attachment.size == 18
    assert services.attachment_storage().exists(attachment.storage_key)
    assert AuditEntry.objects.filter(action="attach").exists()


def test_anything_but_an_image_or_pdf_is_refused(agent_a: User, customer_a: Customer,
                                                 hold: Callable[..., Callback], fake_exchange: FakeExchange) -> None:
    with pytest.raises(CallError, match="只能是图片"):
        attach_file(callback=hold(customer_a), by=agent_a, name="问卷.pdf", source=io.BytesIO(b"MZ\x90\x00exe"))
