"""Peak memory and wall time of each kind of Celery worker, one fresh process per kind: prints JSON.

    .venv/bin/python bench/workers.py [--enrollment-budget 30] [--kinds enrollment,synthesis,default]

Jobs are routed to three queues (settings.CELERY_TASK_ROUTES): `enrollment`, `synthesis` and
`default`. A worker loads models lazily, on its first job, so its memory is what its own jobs
load. For each kind this starts a fresh Python process that sets up Django as a worker does
(all task modules imported) on a temporary SQLite database with local storage and in-process
eager jobs, then runs that queue's representative job end to end through the real services:

- enrollment: the demo voice's style search (short budget; the memory peak is reached within
  seconds, a longer budget only searches longer);
- synthesis: ~200 characters of mixed Mandarin and English to WAV, with the enrolled profile,
  front end, watermark, labels and signed manifest;
- default: a verification job (the moderation path) of the clip the synthesis worker produced.

Each reports its peak RSS (``ru_maxrss``), its RSS before the job (the worker's footprint
with nothing loaded) and the job's wall time. The 1.5 GB per-worker target is the issue's. A
setup process first creates the organisation, the demo voice (Piper's "joe" reading its
references and the consent statement) and its consent through consent.services.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]

TARGET_MB = 1536
# ~200 characters: Mandarin with English words and sentences, numbers, a date and money.
SYNTHESIS_TEXT = ("欢迎收听今天的节目。我们来聊一聊人工智能怎样改变声音制作，以及为什么同意和水印都很重要。"
                  "The studio recorded 3 episodes on March 4, 2025, and each one costs about $120 to produce. "
                  "下午三点，我们会在会议室讨论新的 AI 配音计划。Thank you for listening, see you tomorrow!")
ORG_NAME = "Bench Workers"


def _rss_now_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _django_as_a_worker() -> None:
    """What `celery -A voicegate worker` does before its first job: Django set up, tasks imported."""
    import django

    django.setup()
    from voicegate.celery import app

    app.loader.import_default_modules()


def _org_admin_and_voice():
    from consent.demo import DEMO_VOICE
    from consent.models import Voice
    from voicegate.accounts.models import Membership, Organisation, Role

    org = Organisation.objects.get(name=ORG_NAME)
    admin = Membership.objects.filter(organisation=org, role=Role.ADMIN).select_related("user").first().user
    return org, admin, Voice.objects.get(organisation=org, name=DEMO_VOICE)


def role_setup(workdir: Path, _args) -> dict:
    import django

    django.setup()
    from django.core.management import call_command

    from consent.demo import ensure_demo_voice
    from voicegate.accounts.services import create_organisation

    call_command("migrate", verbosity=0)
    org = create_organisation(ORG_NAME, "bench-admin").organisation
    voice_id = ensure_demo_voice(org)
    if voice_id is None:
        raise SystemExit("the demo voice's consent could not be verified")
    return {"voice": voice_id}


def role_enrollment(workdir: Path, args) -> dict:
    _django_as_a_worker()
    from synthesis import services

    _, admin, voice = _org_admin_and_voice()
    before = _rss_now_mb()
    started = time.perf_counter()
    artifact = services.start_enrollment(voice, admin, budget_s=args.enrollment_budget)  # queued -> run eagerly
    artifact.refresh_from_db()
    return {"job": "synthesis.enroll_voice", "status": artifact.status, "error": artifact.error,
            "budget_s": args.enrollment_budget, "wall_s": round(time.perf_counter() - started, 2),
            "similarity": artifact.similarity, "rss_before_job_mb": before}


def role_synthesis(workdir: Path, _args) -> dict:
    _django_as_a_worker()
    from synthesis import services

    _, admin, voice = _org_admin_and_voice()
    before = _rss_now_mb()
    started = time.perf_counter()
    generation = services.request_synthesis(user=admin, voice=voice, text=SYNTHESIS_TEXT, language="zh",
                                            output_format="wav")
    wall = time.perf_counter() - started
    generation.refresh_from_db()
    if generation.status != "succeeded":
        raise SystemExit(f"synthesis {generation.status}: {generation.error}")
    (workdir / "generated.wav").write_bytes(services.read_output(generation))
    return {"job": "synthesis.run_generation", "status": generation.status, "characters": len(SYNTHESIS_TEXT),
            "audio_s": round(generation.duration_s, 2), "wall_s": round(wall, 2),
            "real_time_factor": round(wall / generation.duration_s, 3), "rss_before_job_mb": before}


def role_default(workdir: Path, _args) -> dict:
    _django_as_a_worker()
    from safety.services import submit_verification

    _, admin, _ = _org_admin_and_voice()
    data = (workdir / "generated.wav").read_bytes()
    before = _rss_now_mb()
    started = time.perf_counter()
    # VERIFY_SYNC_SECONDS=0 in this process's environment makes every upload a queued job.
    verification = submit_verification(admin, data, "generated.wav")
    verification.refresh_from_db()
    return {"job": "safety.run_verification", "status": verification.status, "verdict": verification.verdict,
            "wall_s": round(time.perf_counter() - started, 2), "rss_before_job_mb": before}


ROLES = {"setup": role_setup, "enrollment": role_enrollment, "synthesis": role_synthesis, "default": role_default}
# Queue -> the process that measures it, in an order where each job finds what it needs.
WORKERS = ("enrollment", "synthesis", "default")


def run_role(role: str, workdir: Path, args) -> dict:
    env = {key: value for key, value in os.environ.items()
           if key not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL", "DATABASE_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "voicegate.settings", "VOICEGATE_VAR_DIR": str(workdir / "var"),
                "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}", "STORAGE_BACKEND": "local",
                "STORAGE_LOCAL_ROOT": str(workdir / "media"), "JOBS_IN_PROCESS": "eager",
                "VERIFY_SYNC_SECONDS": "0", "LOG_LEVEL": "WARNING"})
    command = [sys.executable, str(Path(__file__).resolve()), "--role", role, "--workdir", str(workdir),
               "--enrollment-budget", str(args.enrollment_budget)]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{role} process failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollment-budget", type=float, default=30.0)
    parser.add_argument("--kinds", default=",".join(WORKERS),
                        help="comma-separated worker kinds to measure (default: all; default needs synthesis)")
    parser.add_argument("--role", choices=sorted(ROLES), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:  # inside one measured process
        result = ROLES[args.role](Path(args.workdir), args)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result, ensure_ascii=False))
        return
    report = {"cpu_affinity": len(os.sched_getaffinity(0)), "load_average_1m": os.getloadavg()[0],
              "target_peak_rss_mb": TARGET_MB, "workers": {}}
    with tempfile.TemporaryDirectory(prefix="voicegate-bench-workers-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        report["setup"] = {**run_role("setup", workdir, args), "wall_s": round(time.perf_counter() - started, 1)}
        for queue in [kind for kind in WORKERS if kind in args.kinds.split(",")]:
            measured = run_role(queue, workdir, args)
            measured["within_target"] = measured["peak_rss_mb"] <= TARGET_MB
            measured["load_average_1m_after"] = os.getloadavg()[0]
            report["workers"][queue] = measured
    report["load_average_1m_end"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
