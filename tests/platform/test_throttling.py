"""Rate limits hold under concurrency: exactly N requests pass, on Redis and on the local-memory cache."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from voicegate.throttling import record_hit

REDIS_URL = os.environ.get("CACHE_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL.startswith("redis"), reason="CACHE_URL does not point at Redis")


def _burst(function, count: int) -> list:
    start = threading.Barrier(count)

    def one(_):
        start.wait()
        return function()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def _redis_cache():
    from django.core.cache.backends.redis import RedisCache

    return RedisCache(REDIS_URL, {"KEY_PREFIX": "voicegate-throttle-test"})


def test_concurrent_hits_on_the_local_memory_cache_pass_exactly_the_limit():
    from django.core.cache.backends.locmem import LocMemCache

    cache = LocMemCache("throttle-test", {})
    results = _burst(lambda: record_hit("burst", 7, 60, cache), 40)
    assert sum(allowed for allowed, _ in results) == 7
    assert all(0 < wait <= 60 for allowed, wait in results if not allowed)


@needs_redis
def test_concurrent_hits_on_redis_pass_exactly_the_limit():
    cache = _redis_cache()
    cache.delete("burst")
    try:
        results = _burst(lambda: record_hit("burst", 7, 60, cache), 40)
        assert sum(allowed for allowed, _ in results) == 7
        assert all(0 < wait <= 60 for allowed, wait in results if not allowed)
    finally:
        cache.delete("burst")


@needs_redis
def test_the_window_slides_on_redis():
    import time

    cache = _redis_cache()
    cache.delete("slide")
    try:
        assert [record_hit("slide", 2, 1.0, cache)[0] for _ in range(3)] == [True, True, False]
        time.sleep(1.1)
        assert record_hit("slide", 2, 1.0, cache)[0] is True
    finally:
        cache.delete("slide")


@needs_redis
@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_against_a_live_server_get_exactly_the_limit(live_server, settings):
    """15 simultaneous POST /syntheses/ by one user at 3/min: 3 pass the throttle, 12 get 429."""
    import requests
    from urllib3.util.retry import Retry

    from tests.conftest import make_tenant

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": REDIS_URL, "KEY_PREFIX": "voicegate-throttle-live"}}
    from django.core.cache import cache

    cache.clear()
    tenant = make_tenant("Burst Media")
    headers = {"Authorization": f"Token {tenant.producer.token}"}
    session = requests.Session()  # a refused connection (the test server's short backlog) is retried
    session.mount("http://", requests.adapters.HTTPAdapter(
        max_retries=Retry(total=3, connect=3, read=0, status=0, allowed_methods=None, respect_retry_after_header=False),
        pool_maxsize=15))
    # An empty body: the throttle runs before validation, so each passing request is a 400.
    codes = _burst(lambda: session.post(f"{live_server.url}/api/v1/syntheses/", json={}, headers=headers,
                                        timeout=60).status_code, 15)
    assert sorted(codes) == [400] * 3 + [429] * 12
    cache.clear()
