"""Calls tests: a customer of branch A with two phones and two callbacks held by agent_a, and a fake exchange
that reports what a script says, synchronously."""

import datetime as dt
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from huifang.callbacks.choices import State
from huifang.callbacks.models import Callback
from huifang.callbacks.services import change_state, create_callback
from huifang.calls import services
from huifang.campaigns.models import CallbackType
from huifang.customers.models import ContactPoint, Customer
from huifang.integrations.telephony.base import (
    CallEvent,
    CallState,
    EndCause,
    EventSink,
    PlacedCall,
    Recording,
    TelephonyError,
)
from huifang.org.models import Branch, User


def write_wav(path: Path, seconds: float = 1.0) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(range(256)) * int(16000 * seconds / 256))
    return path


@dataclass
class FakeExchange:
    """Answers `dial` at once; reports `script` ("answered", "no_answer", "busy", ...) through the sink."""

    sink: EventSink
    tmp: Path
    script: list[str] = field(default_factory=lambda: ["answered"])
    dialed: list[dict[str, str]] = field(default_factory=list)
    fail: TelephonyError | None = None

    def dial(self, *, agent_extension: str, number: str, reference: str) -> PlacedCall:
        if self.fail is not None:
            raise self.fail
        self.dialed.append({"agent_extension": agent_extension, "number": number, "reference": reference})
        call_id = f"sim-{len(self.dialed)}"
        how = self.script.pop(0) if self.script else "answered"
        start = timezone.now()
        self.sink(CallEvent(call_id, reference, CallState.RINGING, start))
        if how == "answered":
            self.sink(CallEvent(call_id, reference, CallState.ANSWERED, start + dt.timedelta(seconds=3)))
            wav = write_wav(self.tmp / f"{reference}.wav", 1.0)
            self.sink(CallEvent(call_id, reference, CallState.ENDED, start + dt.timedelta(seconds=45),
                                cause=EndCause.NORMAL, recording=Recording(path=wav, duration_seconds=1.0)))
        else:
            self.sink(CallEvent(call_id, reference, CallState.ENDED, start + dt.timedelta(seconds=30),
                                cause=EndCause(how)))
        return PlacedCall(exchange_call_id=call_id, reference=reference)

    def hang_up(self, *, exchange_call_id: str) -> None:
        return None


@pytest.fixture
def fake_exchange(tmp_path: Path, settings: Any) -> Iterator[FakeExchange]:
    settings.VAR_DIR = tmp_path / "var"
    fake = FakeExchange(sink=services._deliver, tmp=tmp_path)
    services.use_exchange(fake)
    yield fake
    services.use_exchange(None)


@pytest.fixture
def customer_a(branch_a: Branch) -> Customer:
    customer = Customer.objects.create(customer_no="0031010000007", name="王五", branch=branch_a)
    ContactPoint.objects.create(customer=customer, kind="mobile", number="13800001111", is_primary=True)
    ContactPoint.objects.create(customer=customer, kind="mobile", number="13900002222")
    return customer


@pytest.fixture
def hold(agent_a: User) -> Callable[..., Callback]:
    """A callback of the customer's, held by the agent (进行中)."""

    def make(customer: Customer, code: str = "risk_aml", agent: User | None = None) -> Callback:
        agent = agent or agent_a
        callback = create_callback(customer=customer, callback_type=CallbackType.objects.get(code=code),
                                   origin="api", agent=agent, due=dt.date(2026, 12, 31), period=f"t-{code}",
                                   today=dt.date(2026, 1, 5))
        return change_state(callback=callback, to=State.IN_PROGRESS, by=agent, agent=agent)

    return make
