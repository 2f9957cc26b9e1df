"""Model loaders run once per process, even when several threads ask for the model at once."""
from __future__ import annotations

import threading
import time

import pytest

from voicegate.loading import load_once


def test_threads_asking_at_once_share_one_load():
    calls = []
    started = threading.Event()

    @load_once
    def model():
        calls.append(threading.get_ident())
        started.set()
        time.sleep(0.3)  # a slow load: the other threads arrive while it runs
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(model())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(calls) == 1
    assert len(results) == 4 and all(r is results[0] for r in results)


def test_a_failed_load_is_tried_again_and_cache_clear_drops_the_model():
    attempts = []

    @load_once
    def model(name: str = "a"):
        attempts.append(name)
        if len(attempts) == 1:
            raise OSError("weights not readable yet")
        return [name]

    with pytest.raises(OSError):
        model()
    first = model()
    assert model() is first and attempts == ["a", "a"]
    assert model("b") == ["b"]  # cached per argument
    model.cache_clear()
    assert model() is not first


def test_the_verification_models_load_once():
    """The loaders the detector thread and the request thread share are single-flight."""
    from consent import speaker, vad
    from safety import detector
    from voicegate import whisper

    single_flight = load_once(lambda: None).__code__
    for loader in (whisper.encoder, whisper._features, vad._model, speaker._encoder, detector.load_model):
        assert loader.__code__ is single_flight, loader.__name__
