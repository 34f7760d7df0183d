"""Reads of customers, and the permission-checked fetches. A customer of another branch is "not found"."""

import unicodedata
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from huifang.customers.models import ContactPoint, Customer, CustomerEvent
from huifang.customers.rules import digits_prefix_upper_bound, looks_like_customer_no, looks_like_last4
from huifang.org.queries import NotFound

#: how many events the customer view shows (newest first)
RECENT_EVENTS = 50


def visible_customers(user: Any) -> QuerySet[Customer]:
    """The customers `user` may see: their branch's, or all for HQ. Branch and manager are joined in."""
    return Customer.objects.visible_to(user).select_related("branch", "manager")


def search_customers(user: Any, q: str = "") -> QuerySet[Customer]:
    """Visible customers whose number starts with `q` (digits), whose name starts with `q`, or, for exactly four
    digits, one of whose phones ends with them; by number, with their phones prefetched."""
    customers = visible_customers(user)
    # Full-width digits and letters, as Chinese input methods type them, search like ASCII.
    q = unicodedata.normalize("NFKC", q).strip()
    if looks_like_last4(q):
        # Four digits: the last four of a phone, or the start of a customer number.
        customers = customers.filter(_phone_last4(q) | _number_prefix(q))
    elif q:
        customers = customers.filter(_number_prefix(q) if looks_like_customer_no(q) else _name_prefix(q))
    return customers.prefetch_related(
        Prefetch("contact_points", queryset=ContactPoint.objects.order_by("-is_primary", "id"))
    ).order_by("customer_no")


def _phone_last4(q: str) -> Q:
    # EXISTS, not a join: a customer with two matching phones is listed once. contactpoint_last4_idx serves it.
    return Q(Exists(ContactPoint.objects.filter(customer=OuterRef("pk"), last4=q)))


def _number_prefix(q: str) -> Q:
    # A range rather than LIKE: the unique index on customer_no serves it on every database.
    bound = digits_prefix_upper_bound(q)
    return Q(customer_no__gte=q) & (Q(customer_no__lt=bound) if bound else Q())


def _name_prefix(q: str) -> Q:
    if connection.vendor == "sqlite":
        # SQLite's LIKE is case-insensitive and cannot use customer_name_idx; under its binary collation
        # every name starting with q lies in [q, q + U+10FFFF).
        return Q(name__gte=q, name__lt=q + "\U0010ffff")
    # PostgreSQL: LIKE 'q%' uses customer_name_idx (varchar_pattern_ops).
    return Q(name__startswith=q)


def access_customer(user: Any, customer_id: Any) -> Customer:
    """The customer with primary key `customer_id` if `user` may see it; NotFound otherwise."""
    try:
        return visible_customers(user).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound("客户不存在") from None


def access_customer_by_no(user: Any, customer_no: str) -> Customer:
    """The customer with number `customer_no` if `user` may see it; NotFound otherwise."""
    try:
        return visible_customers(user).get(customer_no=customer_no)
    except Customer.DoesNotExist:
        raise NotFound(f"客户 {customer_no} 不存在") from None


def access_contact_point(user: Any, customer: Customer, contact_point_id: Any) -> ContactPoint:
    """One phone of `customer` (already access-checked by the caller, re-checked here); NotFound for a phone
    of another customer, of another branch, or none."""
    try:
        return (
            ContactPoint.objects.visible_to(user)
            .select_related("customer__branch")
            .get(pk=contact_point_id, customer=customer)
        )
    except (ContactPoint.DoesNotExist, ValueError, TypeError):
        raise NotFound("该客户没有这个号码") from None


def customer_phones(customer: Customer) -> list[ContactPoint]:
    return list(customer.contact_points.order_by("-is_primary", "id"))


def recent_events(customer: Customer, limit: int = RECENT_EVENTS) -> list[CustomerEvent]:
    return list(customer.events.order_by("-occurred_at", "-id")[:limit])
