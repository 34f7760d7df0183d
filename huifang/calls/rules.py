"""Pure decisions of calls: the time slots of the calling day, when a retry may be made, which phone to dial,
the outcome an exchange's end cause suggests. No ORM."""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    code: str
    label: str
    start: dt.time
    end: dt.time


#: the calling day (default calling hours 09:00–20:30) in three slots; a retry spread over slots goes to one
#: not tried yet, so a customer who never answers in the morning is tried in the afternoon and evening
SLOTS: tuple[Slot, ...] = (
    Slot("morning", "上午", dt.time(9, 0), dt.time(12, 0)),
    Slot("afternoon", "下午", dt.time(12, 0), dt.time(17, 0)),
    Slot("evening", "晚上", dt.time(17, 0), dt.time(20, 30)),
)


def slot_of(moment: dt.datetime) -> str:
    """The slot code of a local moment, "" outside the calling day."""
    clock = moment.timetz().replace(tzinfo=None)
    for slot in SLOTS:
        if slot.start <= clock < slot.end:
            return slot.code
    return ""


def _slot_starts(after: dt.datetime) -> Iterable[tuple[dt.datetime, Slot]]:
    """Each slot's start from the day of `after` on, in order (those already begun included)."""
    day = after.date()
    for offset in range(0, 8):
        for slot in SLOTS:
            yield dt.datetime.combine(day + dt.timedelta(days=offset), slot.start, tzinfo=after.tzinfo), slot


def retry_at(*, now: dt.datetime, after_minutes: int, spread: bool, tried_slots: Sequence[str]) -> dt.datetime:
    """When the next attempt may be made: at least `after_minutes` after `now` (a local, aware moment), inside
    the calling day; with `spread`, in a slot not in `tried_slots` (the slots of the earlier attempts; once every
    slot was tried, any slot but the current one)."""
    earliest = now + dt.timedelta(minutes=after_minutes)
    avoid = set(tried_slots)
    if spread and avoid >= {slot.code for slot in SLOTS}:
        avoid = {slot_of(now)}
    if not spread:
        avoid = set()
    current = slot_of(earliest)
    if current and current not in avoid:
        return earliest
    for start, slot in _slot_starts(earliest):
        if slot.code in avoid:
            continue
        end = start.replace(hour=slot.end.hour, minute=slot.end.minute)
        if end <= earliest:
            continue
        return max(start, earliest)
    return earliest  # unreachable: some slot is free every day


def choose_phone(phones: Sequence[tuple[int, str, bool]], *, skip: int | None = None) -> int | None:
    """The id of the phone to dial among (id, validity, is primary) in the customer's order: never an invalid
    one; valid before unknown, the primary first; `skip` (the phone an outcome asked to move on from) comes
    last. None when there is no usable phone."""
    usable = [phone for phone in phones if phone[1] != "invalid" and phone[1] != "changed"]
    rank = {"valid": 0, "unknown": 1}
    ordered = sorted(usable, key=lambda p: (p[0] == skip, rank.get(p[1], 2), not p[2], p[0]))
    return ordered[0][0] if ordered else None


#: the outcome an end cause suggests to the agent (who registers the outcome; this only pre-selects it)
SUGGESTED_OUTCOMES = {
    "no_answer": "no_answer",
    "busy": "busy",
    "invalid_number": "invalid_number",
    "powered_off": "powered_off",
    "unreachable": "unreachable",
    "suspended": "suspended",
}


def suggested_outcome(end_cause: str) -> str:
    return SUGGESTED_OUTCOMES.get(end_cause, "")
