"""Batch pushes from CRM and counter systems: `POST /api/v1/customers/batch` and `POST /api/v1/events/batch`.

Both take up to 10,000 items and answer `{"created", "updated", "unchanged", "rejected", "errors": [{"index",
"field", "message"}]}`: each item is taken whole or refused whole, with the reasons; the valid ones land in one
transaction. They call the same services as the file import (services.upsert_*_records), so the same data gives
the same result. An API client writes only into its own branches."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError

from huifang.customers.imports.services import (
    MAX_BATCH,
    BatchResult,
    branch_limit,
    upsert_customer_records,
    upsert_event_records,
)
from huifang.customers.schemas import ErrorOut

customers_batch_router = Router(tags=["customers"])
events_router = Router(tags=["events"])


class CustomersBatchIn(Schema):
    #: items with customer_no, name, branch (code), mobile, open_date (ISO date); optionally phones, email,
    #: id_type, id_no, manager (agent number), tier, status, risk_level, assets, products, tags, attributes
    customers: list[dict[str, Any]]


class EventsBatchIn(Schema):
    #: items with customer_no, type, occurred_at (ISO 8601 with offset), data, source, external_id
    events: list[dict[str, Any]]


class ItemErrorOut(Schema):
    index: int
    field: str
    message: str


class BatchOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: int
    errors: list[ItemErrorOut]


def _source(request: HttpRequest) -> str:
    """The caller as recorded on phones and events: `api:<client>` or `api:<user name>`."""
    return f"api:{request.user.get_username()}"[:30]


def _check_size(items: list[dict[str, Any]]) -> None:
    if not items:
        raise HttpError(400, "没有提交任何条目")
    if len(items) > MAX_BATCH:
        raise HttpError(413, f"一次最多提交 {MAX_BATCH} 条，这里有 {len(items)} 条")


def _out(result: BatchResult) -> dict[str, Any]:
    return {"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
            "rejected": result.rejected, "errors": result.errors}


@customers_batch_router.post("/batch", response={200: BatchOut, 400: ErrorOut, 413: ErrorOut},
                             summary="Create or update up to 10,000 customers")
def customers_batch(request: HttpRequest, body: CustomersBatchIn) -> dict[str, Any]:
    _check_size(body.customers)
    return _out(upsert_customer_records(body.customers, source=_source(request), actor=request.user,
                                        allowed_branch_ids=branch_limit(request.user)))


@events_router.post("/batch", response={200: BatchOut, 400: ErrorOut, 413: ErrorOut},
                    summary="Record up to 10,000 business events, idempotent on (source, external_id)")
def events_batch(request: HttpRequest, body: EventsBatchIn) -> dict[str, Any]:
    _check_size(body.events)
    return _out(upsert_event_records(body.events, source=_source(request), actor=request.user,
                                     allowed_branch_ids=branch_limit(request.user)))
