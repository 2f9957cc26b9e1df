"""Brute-force protection: failed sign-ins per account and per client address, failed API tokens per address.

An account is what a sign-in names: an organisation (the one the text typed names, so its name and
its short name count together) and a username in it. Failures are counted in the cache
(``cache.add`` + ``cache.incr``: atomic on Redis and on local memory) in a fixed window of
``LOGIN_LOCKOUT_S`` seconds from the first failure. Once a count reaches its limit, sign-ins for that
account (or from that address) are refused with a message saying so, even with the right password,
until the window ends; reaching a limit is audited.
A successful sign-in clears its account's count (not its address's). The refusals are worded in
the request's language (the web UI's catalogue, locale/).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import ngettext

from .models import member_name
from .selectors import organisation_named, sign_in_account


@dataclass(frozen=True)
class Counter:
    scope: str  # "account" | "address" | "token"
    key: str
    limit: int


def _window_s() -> int:
    return int(settings.LOGIN_LOCKOUT_S)


def client_address(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is set by the client unless a trusted proxy rewrites it.
    return (getattr(request, "META", {}) or {}).get("REMOTE_ADDR") or "unknown"


def _account_counter(organisation_key: str, username: str) -> Counter:
    digest = hashlib.sha256(f"{organisation_key}\n{(username or '').strip().lower()}".encode()).hexdigest()[:32]
    return Counter("account", f"lockout:account:{digest}", int(settings.LOGIN_FAILURE_LIMIT))


def _organisation_key(organisation: str) -> str:
    """The organisation typed at sign-in, as the account counters know it (its id when it exists)."""
    found = organisation_named(organisation)
    return found.pk.hex if found is not None else (organisation or "").strip().lower()


def _address_counter(address: str) -> Counter:
    return Counter("address", f"lockout:address:{address}", int(settings.LOGIN_ADDRESS_FAILURE_LIMIT))


def _token_counter(address: str) -> Counter:
    return Counter("token", f"lockout:token:{address}", int(settings.TOKEN_FAILURE_LIMIT))


def _count(counter: Counter) -> int:
    return int(cache.get(counter.key, 0))


def _fail(counter: Counter) -> int:
    cache.add(counter.key, 0, _window_s())
    try:
        return int(cache.incr(counter.key))
    except ValueError:  # expired between add and incr: start again
        cache.add(counter.key, 1, _window_s())
        return 1


def _minutes() -> int:
    return max(1, round(_window_s() / 60))


def login_refusal(organisation: str, username: str, address: str) -> str | None:
    """Why a sign-in to ``organisation`` as ``username`` from ``address`` is refused now (in the request's
    language), or None."""
    minutes = _minutes()
    account = _account_counter(_organisation_key(organisation), username)
    if _count(account) >= account.limit:
        return ngettext("Too many failed sign-ins for this account: sign-in is blocked for up to %(minutes)d minute. "
                        "Wait and try again, or ask an admin of your organisation to reset your password.",
                        "Too many failed sign-ins for this account: sign-in is blocked for up to %(minutes)d minutes. "
                        "Wait and try again, or ask an admin of your organisation to reset your password.",
                        minutes) % {"minutes": minutes}
    if _count(_address_counter(address)) >= _address_counter(address).limit:
        return ngettext("Too many failed sign-ins from your network address: sign-in is blocked for up to "
                        "%(minutes)d minute. Wait and try again.",
                        "Too many failed sign-ins from your network address: sign-in is blocked for up to "
                        "%(minutes)d minutes. Wait and try again.", minutes) % {"minutes": minutes}
    return None


def record_login_failure(organisation: str, username: str, address: str) -> None:
    for counter in (_account_counter(_organisation_key(organisation), username), _address_counter(address)):
        if _fail(counter) == counter.limit:
            _audit_lockout(counter, organisation=organisation, username=username, address=address)


def clear_login_failures(user) -> None:
    membership = getattr(user, "membership", None)
    organisation_key = membership.organisation_id.hex if membership is not None else ""
    cache.delete(_account_counter(organisation_key, member_name(user)).key)


def token_refusal(address: str) -> str | None:
    counter = _token_counter(address)
    if _count(counter) >= counter.limit:
        minutes = _minutes()
        return ngettext("Too many requests with invalid API tokens from your network address: token authentication "
                        "is blocked for up to %(minutes)d minute.",
                        "Too many requests with invalid API tokens from your network address: token authentication "
                        "is blocked for up to %(minutes)d minutes.", minutes) % {"minutes": minutes}
    return None


def record_token_failure(address: str) -> None:
    counter = _token_counter(address)
    if _fail(counter) == counter.limit:
        _audit_lockout(counter, organisation=None, username=None, address=address)


def _audit_lockout(counter: Counter, *, organisation: str | None, username: str | None, address: str) -> None:
    from django.db import transaction

    from voicegate.audit.services import record_audit

    named = organisation_named(organisation) if organisation else None
    user = sign_in_account(organisation or "", username) if username else None
    with transaction.atomic():
        record_audit("auth.locked_out", actor=None, organisation=named, target=user,
                     details={"scope": counter.scope, "organisation": organisation, "username": username,
                              "address": address, "failures": counter.limit, "window_s": _window_s()})


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    record_login_failure(str(credentials.get("organisation") or ""), str(credentials.get("username") or ""),
                         client_address(request))


def on_logged_in(sender, request, user, **kwargs) -> None:
    clear_login_failures(user)
