"""The demo's calling hours: the shipped callback types call 09:00–20:30 (the default of the model), which would
leave a new user trying the demo in the evening with an empty queue. The demo opens every type's calling hours
to the whole day; a production deployment keeps the shipped hours (they are data, editable per type)."""

import datetime as dt

from huifang.campaigns.models import CallbackType

#: the whole day: from midnight to the last second (the queue compares start <= now < end)
DEMO_STARTS_AT = dt.time(0, 0)
DEMO_ENDS_AT = dt.time(23, 59, 59)


def open_demo_calling_hours() -> int:
    """Widen every callback type's calling hours to the whole day; returns how many types changed."""
    return (CallbackType.objects.exclude(calling_starts_at=DEMO_STARTS_AT, calling_ends_at=DEMO_ENDS_AT)
            .update(calling_starts_at=DEMO_STARTS_AT, calling_ends_at=DEMO_ENDS_AT))
