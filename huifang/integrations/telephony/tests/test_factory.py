"""The exchange the settings name."""

from pathlib import Path
from typing import Any

import pytest

from huifang.integrations.telephony.base import CallEvent
from huifang.integrations.telephony.factory import exchange_from_settings, forget_shared_exchanges
from huifang.integrations.telephony.simulated import SimulatedExchange


def sink(event: CallEvent) -> None:
    pass


@pytest.fixture(autouse=True)
def no_shared_exchanges() -> Any:
    forget_shared_exchanges()
    yield
    forget_shared_exchanges()


def test_the_default_is_the_simulated_exchange_recording_under_var(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    exchange = exchange_from_settings(sink)
    assert isinstance(exchange, SimulatedExchange)
    assert exchange.recordings_dir == tmp_path / "recordings" / "incoming"
    assert exchange.synchronous is False


def test_one_instance_is_shared_per_sink_and_settings(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path
    assert exchange_from_settings(sink) is exchange_from_settings(sink)
    assert exchange_from_settings(sink, shared=False) is not exchange_from_settings(sink)
    first = exchange_from_settings(sink)
    settings.TELEPHONY_OPTIONS = {"ring_seconds": 0.5}
    assert exchange_from_settings(sink) is not first


def test_the_options_reach_the_backend(settings: Any, tmp_path: Path) -> None:
    settings.TELEPHONY_BACKEND = "huifang.integrations.telephony.simulated.SimulatedExchange"
    settings.TELEPHONY_OPTIONS = {"ring_seconds": 0.5, "synchronous": True, "recordings_dir": str(tmp_path)}
    exchange = exchange_from_settings(sink)
    assert isinstance(exchange, SimulatedExchange)
    assert (exchange.ring_seconds, exchange.synchronous, exchange.recordings_dir) == (0.5, True, tmp_path)


def test_a_wrong_backend_path_fails_loudly(settings: Any) -> None:
    settings.TELEPHONY_BACKEND = "huifang.integrations.telephony.nosuch.Exchange"
    with pytest.raises(ImportError):
        exchange_from_settings(sink)
