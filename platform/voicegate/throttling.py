"""Per-user and per-organisation request throttles (rates in settings: THROTTLE_*).

DRF's SimpleRateThrottle reads a request history from the cache, appends and writes it back:
concurrent requests all read the same history and all pass. Here the check-and-record is one
atomic step: a Lua script over a sorted set on Redis (exact across every web process), and a
lock around the read-modify-write on any other cache (exact within the process, which is all
the embedded local-memory default has). The window is sliding, as DRF's.
"""
from __future__ import annotations

import threading
import time
import uuid

from django.core.cache import cache as default_cache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from voicegate.accounts.selectors import membership_of

# KEYS[1]: the window's sorted set; ARGV: window (s), limit, a unique member.
# Scores are the Redis server's clock, so every web process shares one time line.
_SLIDING_WINDOW = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
  return {1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tostring(tonumber(oldest[2]) + window - now)}
"""
_local_lock = threading.Lock()


def record_hit(key: str, limit: int, window_s: float, cache=default_cache) -> tuple[bool, float]:
    """Count one request against ``key`` if fewer than ``limit`` were counted in the last ``window_s``.

    Returns (allowed, seconds until the next request would be allowed).
    """
    redis_client = _redis_client(cache, key)
    if redis_client is not None:
        allowed, wait = redis_client.eval(_SLIDING_WINDOW, 1, cache.make_and_validate_key(key), window_s, limit,
                                          uuid.uuid4().hex)
        return bool(allowed), max(0.0, float(wait))
    with _local_lock:
        now = time.time()
        history = [stamp for stamp in cache.get(key, []) if stamp > now - window_s]
        if len(history) < limit:
            history.append(now)
            cache.set(key, history, window_s)
            return True, 0.0
        return False, max(0.0, history[0] + window_s - now)


def _redis_client(cache, key: str):
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache, RedisCache):
        return None
    return cache._cache.get_client(key, write=True)


class UserRateThrottle(SimpleRateThrottle):
    scope = "api_user"

    def get_rate(self):
        # Read at each request (not frozen at import), so settings overrides apply.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        allowed, self._wait = record_hit(self.key, self.num_requests, self.duration, self.cache)
        return allowed

    def wait(self):
        return getattr(self, "_wait", None)


class SynthesisUserThrottle(UserRateThrottle):
    """Generations per user (default 3/min, as the source articles suggest)."""

    scope = "synthesis_user"

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class SynthesisOrganisationThrottle(SynthesisUserThrottle):
    scope = "synthesis_org"

    def get_cache_key(self, request, view):
        membership = membership_of(request.user)
        if membership is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": f"org:{membership.organisation_id}"}


SYNTHESIS_THROTTLES = [SynthesisUserThrottle, SynthesisOrganisationThrottle]
