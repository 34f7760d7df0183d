"""Validating an import chunk by chunk, in worker processes when the file is large: the main process reads the
file and writes the staging tables while the workers validate (and encrypt), so both cores of a small server
work. No ORM here: workers never touch the database.

Workers are forked, so they inherit the validator as it is (its lookups, its cipher) without pickling it; a
process that runs threads (a web server) is never forked, the chunks are then validated in line."""

import gc
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

#: (line, cells of a file row | values of an API item | the reason the whole row is refused)
Item = tuple[int, Any]
#: (validated rows with their line, refusals as (line, field, message))
Checked = tuple[list[tuple[int, Any]], list[tuple[int, str, str]]]


@dataclass(frozen=True)
class ChunkValidator:
    validate: Callable[[Mapping[str, Any]], Any]
    #: turns a validated row into what the staging tables take (loader.*_shaper)
    shape: Callable[[int, Any], Any]
    #: for file rows: (field, column index) of the mapped columns, and the header's width
    columns: Sequence[tuple[str, int]] | None = None
    width: int = 0

    def __call__(self, chunk: Sequence[Item]) -> Checked:
        good: list[tuple[int, Any]] = []
        bad: list[tuple[int, str, str]] = []
        columns, width, validate, shape = self.columns, self.width, self.validate, self.shape
        for line, raw in chunk:
            if isinstance(raw, str):
                bad.append((line, "", raw))
                continue
            if columns is not None:
                count = len(raw)
                if count > width and any(str(c).strip() for c in raw[width:] if c is not None):
                    reason = f"本行有 {count} 列，多于表头的 {width} 列（可能是内容中含有未加引号的分隔符）"
                    bad.append((line, "", reason))
                    continue
                raw = {name: raw[index] if index < count else None for name, index in columns}
            outcome = validate(raw)
            if isinstance(outcome, list):
                bad.extend((line, name, message) for name, message in outcome)
            else:
                good.append((line, shape(line, outcome)))
        return good, bad


def chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    chunk: list[Item] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_worker_check: ChunkValidator | None = None


def _start_worker(check: ChunkValidator) -> None:
    global _worker_check
    _worker_check = check
    # A worker makes millions of short-lived tuples and no cycles: the cyclic collector would only scan them.
    gc.disable()


def _check_in_worker(chunk: list[Item]) -> Checked:
    assert _worker_check is not None
    return _worker_check(chunk)


def can_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def checked_chunks(check: ChunkValidator, items: Iterable[Item], *, size: int, workers: int) -> Iterator[Checked]:
    """The chunks of `items`, validated, in order. With `workers` > 0 (and a process that may fork) they are
    validated in that many worker processes, a few chunks ahead of the caller."""
    with _no_cyclic_gc():
        if workers <= 0 or not can_fork():
            for chunk in chunks(items, size):
                yield check(chunk)
            return
        yield from _in_workers(check, items, size=size, workers=workers)


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector off while rows stream through (reference counting still frees them): it
    would otherwise rescan the live chunks every few thousand allocations, a third of validation's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _in_workers(check: ChunkValidator, items: Iterable[Item], *, size: int, workers: int) -> Iterator[Checked]:
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                             initargs=(check,)) as pool:
        pending: deque[Future[Checked]] = deque()
        try:
            for chunk in chunks(items, size):
                pending.append(pool.submit(_check_in_worker, chunk))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
