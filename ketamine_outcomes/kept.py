"""Charts drawn once for the same rows, and suppressed rows kept: what lets the dashboard serve a repeated view
cheaply. A top-level module of its own, imported by charts/ (`@drawn_once`) and disclosure/ (`@remembered`)
alike, so that neither package imports the other for it (disclosure/ draws through charts/, never the reverse).

Building a Plotly figure is most of a page view's CPU once the marts come from cache: Plotly checks
every property it is given, and the same view (another viewer, a meeting opening one link) would build
the same figures again. So, in the dashboard only, a chart builder (charts/, marked `@drawn_once`) does
not build at once: it returns a `Pending` that names what it would draw by a fingerprint of its
arguments (the rows of every frame, their columns and types, and every other value), and ui.chart keeps
the finished chart (the JSON Plotly sends to the browser) under that fingerprint and the view's caption.
The same rows give the same chart whatever the data version, so nothing needs invalidating: new data
gives new rows, a new fingerprint and a new drawing. Rows are hashed, never trusted by identity.

The small-cell suppression of a mart's rows (disclosure/suppress.py, marked `@remembered`) is kept the same way, by
a fingerprint of its arguments: it is pure, and it was the largest part of a repeated view once the
charts were kept (20-30 ms a frame against 2 ms for the fingerprint, sample clinic). A kept frame is
handed out as a copy, so a page that changes it changes only its own.

Both are on only inside `kept()`, which the dashboard holds around each script run (on that run's thread);
elsewhere (the meeting pack, the tests, the command line) both compute as before."""

import contextlib
import dataclasses
import functools
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

_state = threading.local()  # on: inside kept(); building: a builder that calls another needs its figure


@contextlib.contextmanager
def kept():
    """Keep charts and suppressed frames while the body runs on this thread (a dashboard script run)."""
    before = getattr(_state, "on", False)
    _state.on = True
    try:
        yield
    finally:
        _state.on = before


def _on() -> bool:
    return getattr(_state, "on", False) and not getattr(_state, "building", False)


class Unhashable(Exception):
    """An argument the fingerprint cannot stand for: the chart is built, not remembered."""


def _feed(digest, value: Any) -> None:
    if isinstance(value, pd.DataFrame):
        digest.update(b"F" + repr((list(map(str, value.columns)), [str(t) for t in value.dtypes],
                                   value.shape, str(value.index.dtype))).encode())
        if len(value):
            digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, pd.Series):
        digest.update(b"S" + repr((str(value.name), str(value.dtype), len(value))).encode())
        if len(value):
            digest.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, np.ndarray):
        digest.update(b"A" + repr((value.dtype.str, value.shape)).encode() + value.tobytes())
    elif isinstance(value, dict):
        digest.update(b"D%d" % len(value))
        for key in value:  # in order: a dict's order is what a builder draws in (lines, legend)
            _feed(digest, key)
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(b"L%d" % len(value))
        for item in value:
            _feed(digest, item)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        # a frozen value object (suppress.Disclosure, a cohort): its type and its fields
        digest.update(b"C" + type(value).__qualname__.encode())
        _feed(digest, [getattr(value, f.name) for f in dataclasses.fields(value)])
    elif value is None or isinstance(value, (str, int, float, bool, np.generic)):
        digest.update(b"V" + type(value).__name__.encode() + repr(value).encode())
    else:
        raise Unhashable(type(value).__name__)


def fingerprint(name: str, args: tuple, kwargs: dict) -> str | None:
    """A digest of a builder's name and arguments, or None for an argument it cannot stand for."""
    digest = hashlib.blake2b(name.encode(), digest_size=20)
    try:
        _feed(digest, args)
        _feed(digest, sorted(kwargs.items()))
    except (Unhashable, TypeError, ValueError):  # e.g. a column holding lists: hash_pandas_object refuses it
        return None
    return digest.hexdigest()


@dataclass(frozen=True)
class Pending:
    """A chart not built yet: `build()` draws it; `key` names what it draws."""
    key: str
    build: Callable[[], Any]


def drawn_once(builder):
    """Mark a chart builder whose figure the dashboard may keep (see the module's docstring)."""
    @functools.wraps(builder)
    def wrapper(*args, **kwargs):
        if not _on():
            return builder(*args, **kwargs)
        key = fingerprint(builder.__qualname__, args, kwargs)
        if key is None:
            return builder(*args, **kwargs)
        return Pending(key, functools.partial(_build, builder, args, kwargs))
    return wrapper


def remembered(function):
    """Mark a pure function of frames and values whose result the dashboard may keep (see the module's
    docstring); a frame or series it returns is handed out as a copy."""
    kept = Drawings(1024)

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        key = fingerprint(function.__qualname__, args, kwargs) if _on() else None
        if key is None:
            return function(*args, **kwargs)
        found = kept.get(key)
        if found is None:
            found = (function(*args, **kwargs),)  # in a tuple: a function may return None
            kept.put(key, found)
        value = found[0]
        return value.copy() if isinstance(value, (pd.DataFrame, pd.Series)) else value
    return wrapper


def _build(builder, args: tuple, kwargs: dict):
    _state.building = True
    try:
        return builder(*args, **kwargs)
    finally:
        _state.building = False


class Drawings:
    """Finished charts by key, the least recently used dropped past `size` (a thread per viewer reads it)."""

    def __init__(self, size: int = 512):
        self.size = size
        self._kept: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: tuple, value) -> None:
        with self._lock:
            self._kept[key] = value
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def __len__(self) -> int:
        return len(self._kept)
