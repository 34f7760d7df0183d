"""Writes about customers. Pages, the API and jobs all come here."""

from typing import Any

from django.db import transaction

from huifang.audit.services import record_reveal
from huifang.customers.models import ContactPoint


@transaction.atomic
def reveal_contact_number(*, actor: Any, contact_point: ContactPoint, reason: str = "") -> str:
    """The clear number of `contact_point`, for `actor` to dial or read out.

    Precondition: the caller has checked that `actor` may see the customer (queries.access_contact_point).
    Side effect: one audit entry (action "reveal", field "number") is written first, in the same
    transaction, so no number leaves without a record."""
    record_reveal(actor=actor, obj=contact_point, field="number", reason=reason)
    return contact_point.number
