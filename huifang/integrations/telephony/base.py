"""The interface every telephone exchange adapter implements, and the values that cross it.

The platform never hands an exchange a typed number from a person: calls.services picks one of the customer's
valid phones and passes it here. The exchange reports what happens to a call as `CallEvent`s (ringing,
answered, ended, recording ready), which calls.services applies to its Call rows; adapters never touch the
database."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class TelephonyError(Exception):
    """The exchange could not do what was asked. `permanent`: retrying the same request will not help (a bad
    extension, a refused number); otherwise it may (the exchange is unreachable, busy)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class CallState(StrEnum):
    DIALING = "dialing"  # the agent's leg is being set up
    RINGING = "ringing"  # the customer's phone rings
    ANSWERED = "answered"  # the customer answered: recording runs from here
    ENDED = "ended"


class EndCause(StrEnum):
    """Why a call ended, as the exchange knows it; calls.services maps these to outcome codes (DOMAIN.md)."""

    NORMAL = "normal"  # answered, then hung up by either side
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    INVALID_NUMBER = "invalid_number"
    POWERED_OFF = "powered_off"
    UNREACHABLE = "unreachable"
    SUSPENDED = "suspended"
    AGENT_UNAVAILABLE = "agent_unavailable"  # the agent's own phone did not answer
    FAILED = "failed"  # anything else the exchange reports


@dataclass(frozen=True)
class PlacedCall:
    """What `dial` answers at once: the exchange's id for the call (its events carry it)."""

    exchange_call_id: str
    reference: str  # the call serial (通话流水号) given to `dial`


@dataclass(frozen=True)
class Recording:
    """A finished recording, as a local file the platform moves into its storage."""

    path: Path
    duration_seconds: float
    content_type: str = "audio/wav"


@dataclass(frozen=True)
class CallEvent:
    """One thing that happened to a call. `at` is timezone-aware. `recording` is set on the last event of an
    answered call once the recording is finished (possibly a separate event after ENDED)."""

    exchange_call_id: str
    reference: str
    state: CallState
    at: dt.datetime
    cause: EndCause | None = None
    recording: Recording | None = None
    details: dict[str, str] = field(default_factory=dict)


#: where an exchange delivers its events (calls.services.handle_call_event, wrapped to take ids)
EventSink = Callable[[CallEvent], None]


class Exchange(Protocol):
    """A telephone exchange. Implementations: simulated.SimulatedExchange, asterisk.AsteriskExchange."""

    def dial(self, *, agent_extension: str, number: str, reference: str) -> PlacedCall:
        """Ring the agent's extension, then the customer's `number`, and connect them; record from the
        customer's answer, the recording named by `reference`. Returns at once; what happens next arrives as
        CallEvents through the sink given to the adapter. Raises TelephonyError."""
        ...

    def hang_up(self, *, exchange_call_id: str) -> None:
        """End the call (both legs). Hanging up a call that already ended is not an error."""
        ...
