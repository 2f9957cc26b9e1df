"""A bounded concurrent burst against a local server; prints one JSON object.

    .venv/bin/python bench/load.py [--concurrency 16] [--lists 600] [--verifications 40] [--syntheses 30]

A scratch SQLite database and media folder under /tmp (deleted at the end; or the database in
DATABASE_URL when it is set; CACHE_URL is passed on, so throttling is shared between the
workers only when it points at Redis) get one organisation with a consented voice, through the services.
gunicorn serves it on a free local port (2 workers x 4 threads, in-process jobs). Then
``--concurrency`` client threads send, mixed and all at once:

- ``--lists`` GETs spread over the list endpoints (voices, syntheses, audit, members, ...), by
  three members (each has the 600/min API limit);
- ``--verifications`` POST /verifications/ of a 3 s clip (verified in the request);
- ``--syntheses`` POST /syntheses/ by one producer (3/min limit: most must be 429; the ones that
  pass are stream deliveries, which queue without running the engine, so the burst measures the
  request path, not Kokoro).

The JSON gives, per kind and overall, the throughput, p50/p95 latency, status counts, errors
(5xx and failed connections) and 429s, and whether ``manage.py audit_verify`` still finds the
audit chain intact afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
# Each list endpoint, read by a member whose role may read it.
LIST_ENDPOINTS = {"voices": "producer", "syntheses": "producer", "owners": "producer", "consents": "producer",
                  "enrollments": "producer", "audit": "moderator", "verifications": "moderator",
                  "moderation": "moderator", "members": "admin", "tokens": "admin", "protected-voices": "admin"}


def _environment(scratch: Path) -> dict[str, str]:
    env = {**os.environ, "VOICEGATE_VAR_DIR": str(scratch), "STORAGE_LOCAL_ROOT": str(scratch / "media"),
           "JOBS_IN_PROCESS": "thread", "DJANGO_SETTINGS_MODULE": "voicegate.settings",
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
           "SECRET_KEY": "bench-load-" + "x" * 40, "LOG_LEVEL": "WARNING"}
    env.setdefault("DATABASE_URL", f"sqlite:///{scratch / 'load.sqlite3'}")
    env.pop("CELERY_BROKER_URL", None)  # jobs in-process: the burst measures the web tier
    return env


def _populate(env: dict[str, str]) -> dict:
    os.environ.update({key: env[key] for key in ("VOICEGATE_VAR_DIR", "STORAGE_LOCAL_ROOT", "JOBS_IN_PROCESS",
                                                 "DATABASE_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE")})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from bench.fixtures import consented_voice
    from tests.speech import SENTENCES
    from tests.web.audio import spoken_wav
    from voicegate.accounts.models import Role
    from voicegate.accounts.services import add_member, create_organisation, issue_api_token

    created = create_organisation(f"Load Media {int(time.time())}", f"load-admin-{int(time.time())}")
    org, admin = created.organisation, created.admin
    tokens = {"admin": created.api_token.raw}
    for role in (Role.PRODUCER, Role.MODERATOR):
        member = add_member(org, f"{org.slug}-{role}", role, actor=admin)
        tokens[role] = issue_api_token(member.user).raw
    voice, _ = consented_voice(org, admin, "Load narrator", "Load Owner")
    clip = spoken_wav(SENTENCES[2])
    return {"tokens": tokens, "voice": str(voice.pk), "clip": clip}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(env: dict[str, str], port: int) -> subprocess.Popen:
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "voicegate.wsgi:application",
                               "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
                               "--log-level", "warning", "--timeout", "120"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import requests

    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=15).status_code == 200:
                return server
        except requests.RequestException:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("the server did not start: " + server.stderr.read().decode(errors="replace")[-2000:])


def _plan(args, data: dict) -> list[tuple[str, str, str, dict]]:
    """(kind, method, path, request kwargs) for every request of the burst, interleaved."""
    tokens = data["tokens"]
    lists = []
    for number in range(args.lists):
        endpoint = list(LIST_ENDPOINTS)[number % len(LIST_ENDPOINTS)]
        lists.append(("list", "GET", f"/api/v1/{endpoint}/?limit=50", {"token": tokens[LIST_ENDPOINTS[endpoint]]}))
    verifications = [("verification", "POST", "/api/v1/verifications/",
                      {"token": tokens["moderator"], "files": {"file": ("clip.wav", data["clip"], "audio/wav")}})
                     for _ in range(args.verifications)]
    syntheses = [("synthesis", "POST", "/api/v1/syntheses/",
                  {"token": tokens["producer"], "json": {"voice": data["voice"], "text": "A short load test line.",
                                                         "language": "en", "delivery": "stream"}})
                 for _ in range(args.syntheses)]
    plan, queues = [], [lists, verifications, syntheses]
    while any(queues):  # round-robin so every kind is in flight at once
        for queue in queues:
            if queue:
                plan.append(queue.pop(0))
    return plan


def _fire(base: str, plan, concurrency: int) -> tuple[list[dict], float]:
    import requests

    local = threading.local()

    def one(item):
        kind, method, path, options = item
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        headers = {"Authorization": f"Token {options['token']}"}
        began = time.perf_counter()
        try:
            response = session.request(method, base + path, headers=headers, json=options.get("json"),
                                       files=options.get("files"), timeout=120)
            status = response.status_code
        except requests.RequestException as exc:
            status = f"error: {type(exc).__name__}"
        return {"kind": kind, "status": status, "ms": (time.perf_counter() - began) * 1000}

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, plan))
    return results, time.perf_counter() - started


def _summary(results: list[dict], elapsed_s: float) -> dict:
    times = sorted(r["ms"] for r in results)
    statuses = Counter(str(r["status"]) for r in results)
    errors = sum(count for status, count in statuses.items() if not status.isdigit() or int(status) >= 500)
    return {"requests": len(results), "throughput_rps": round(len(results) / elapsed_s, 1),
            "p50_ms": round(statistics.median(times), 1), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
            "statuses": dict(sorted(statuses.items())), "errors": errors, "throttled_429": statuses.get("429", 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--lists", type=int, default=600)
    parser.add_argument("--verifications", type=int, default=40)
    parser.add_argument("--syntheses", type=int, default=30)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="voicegate-bench-load-"))
    server = None
    try:
        env = _environment(scratch)
        data = _populate(env)
        port = _free_port()
        server = _serve(env, port)
        results, elapsed = _fire(f"http://127.0.0.1:{port}", _plan(args, data), args.concurrency)
        audit = subprocess.run([sys.executable, str(ROOT / "manage.py"), "audit_verify", "--json"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=300)
        chain = json.loads(audit.stdout or "{}")
        by_kind = {kind: _summary([r for r in results if r["kind"] == kind], elapsed)
                   for kind in ("list", "verification", "synthesis")}
        print(json.dumps({
            "benchmark": "load", "cores": os.cpu_count(),
            "database": "postgresql" if env["DATABASE_URL"].startswith("postgres") else "sqlite",
            "server": "gunicorn, 2 workers x 4 threads", "concurrency": args.concurrency,
            "throttle_cache": "redis" if env.get("CACHE_URL", "").startswith("redis") else
            "local memory (per worker process: each of the 2 workers counts its own limit)",
            "elapsed_s": round(elapsed, 2), "overall": _summary(results, elapsed), "by_kind": by_kind,
            "audit_verify": {"ok": chain.get("ok"), "entries": chain.get("entries"), "exit_code": audit.returncode},
        }, indent=2))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
