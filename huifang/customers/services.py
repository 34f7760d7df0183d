"""Writes about customers. Pages, the API and jobs all come here."""

from typing import Any

from django.db import transaction

from huifang.audit.services import record_reveal
from huifang.customers.models import ContactPoint, Customer
from huifang.lib.fieldcrypt import field_cipher


@transaction.atomic
def reveal_contact_number(*, actor: Any, contact_point: ContactPoint, reason: str = "") -> str:
    """The clear number of `contact_point`, for `actor` to dial or read out.

    Precondition: the caller has checked that `actor` may see the customer (queries.access_contact_point).
    Side effect: one audit entry (action "reveal", field "number") is written first, in the same
    transaction, so no number leaves without a record."""
    record_reveal(actor=actor, obj=contact_point, field="number", reason=reason)
    return contact_point.number


class NoIdNumber(Exception):
    """The customer has no ID number on record, so there is nothing to reveal (pages and the API answer 400)."""

    def __init__(self) -> None:
        super().__init__("该客户没有登记证件号码")


@transaction.atomic
def reveal_id_number(*, actor: Any, customer: Customer, reason: str = "") -> str:
    """The clear ID number (证件号码) of `customer`, for `actor` to check against what the customer says.

    Precondition: the caller has checked that `actor` may see the customer (queries.access_customer_by_no).
    Raises NoIdNumber, writing nothing, when the customer has none on record.
    Side effect: one audit entry (action "reveal", field "id_no") is written first, in the same transaction;
    if the stored value cannot be decrypted (lib.fieldcrypt.FieldDecryptionError) the entry is rolled back
    with it, as nothing was shown."""
    if not customer.id_no_encrypted:
        raise NoIdNumber()
    record_reveal(actor=actor, obj=customer, field="id_no", reason=reason)
    return field_cipher().decrypt(customer.id_no_encrypted)
