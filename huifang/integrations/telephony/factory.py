"""The exchange the settings name: TELEPHONY_BACKEND (a dotted path to the class) built with
TELEPHONY_OPTIONS (its keyword arguments) plus `sink` and `recordings_dir` (where finished recordings land
before the platform moves them into its storage: $HUIFANG_VAR_DIR/recordings/incoming unless the options say
otherwise). Every backend's constructor takes those two keyword arguments and its own options.

An exchange keeps its calls in memory (the simulated one certainly), so dial and hang_up must reach the same
instance: `exchange_from_settings` answers one shared instance per sink and settings, in this process."""

import threading
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.utils.module_loading import import_string

from huifang.integrations.telephony.base import EventSink, Exchange

DEFAULT_BACKEND = "huifang.integrations.telephony.simulated.SimulatedExchange"

_shared: dict[tuple[str, str, EventSink], Exchange] = {}
_shared_lock = threading.Lock()


def recordings_dir() -> Path:
    """Where exchanges put finished recordings (created when the first one is written)."""
    return Path(settings.VAR_DIR) / "recordings" / "incoming"


def exchange_from_settings(sink: EventSink, *, shared: bool = True) -> Exchange:
    """The configured exchange delivering its events to `sink`; the process's one instance unless
    `shared=False`. Raises ImportError / TypeError for a wrong backend path or options."""
    backend = getattr(settings, "TELEPHONY_BACKEND", "") or DEFAULT_BACKEND
    options: dict[str, Any] = {"recordings_dir": recordings_dir(), **getattr(settings, "TELEPHONY_OPTIONS", {})}
    if not shared:
        return _build(backend, options, sink)
    key = (backend, repr(sorted(options.items())), sink)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = _build(backend, options, sink)
        return _shared[key]


def forget_shared_exchanges() -> None:
    """Drops the shared instances (tests that change the settings between cases)."""
    with _shared_lock:
        _shared.clear()


def _build(backend: str, options: dict[str, Any], sink: EventSink) -> Exchange:
    return cast(Exchange, import_string(backend)(sink=sink, **options))
