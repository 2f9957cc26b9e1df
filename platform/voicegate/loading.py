"""Model loaders that run once per process, however many threads ask for the model at once.

``functools.lru_cache`` keeps a loader's result, but two threads that call it before the first
call returns both run it: two copies of a model loaded side by side, and torch or onnxruntime
initialising in two threads at once (verification runs the synthetic-speech detector in a thread
beside the other checks, and a fresh Celery worker stalled when both threads loaded models at
once). ``load_once`` makes the other callers wait for the first load and share its result. A
loader that raises caches nothing, so the next call tries again.
"""
from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def load_once(loader: Callable[..., T]) -> Callable[..., T]:
    """Cache ``loader``'s result per arguments; concurrent first calls run it once (single flight).

    The wrapper keeps ``cache_clear()`` (as ``lru_cache`` has), to drop a model and free its memory.
    """
    results: dict[Any, T] = {}
    lock = threading.RLock()  # re-entrant: a loader may call another loader that is wrapped too

    @functools.wraps(loader)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        key = (args, tuple(sorted(kwargs.items())))
        try:
            return results[key]
        except KeyError:
            pass
        with lock:
            if key not in results:
                results[key] = loader(*args, **kwargs)
            return results[key]

    def cache_clear() -> None:
        with lock:
            results.clear()

    wrapper.cache_clear = cache_clear  # type: ignore[attr-defined]
    return wrapper
