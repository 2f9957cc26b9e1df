"""A real Celery worker whose jobs are slowed down, so a test can kill it mid-job.

    python -m tests.slow_worker <celery worker arguments>

Synthesis jobs pause two seconds per sentence; verification jobs pause 30 s before examining the
clip. Only the pace changes; the jobs are the real ones.
"""
from __future__ import annotations

import sys
import time

import django


def main() -> None:
    django.setup()
    from safety import services as safety_services
    from synthesis import services

    real_report = services._report_progress

    def slow_report(generation_id, fraction):
        # Sleep after storing progress too, so "running with progress" lasts long enough to be seen
        # even when the last sentence's packaging takes only milliseconds on an idle machine.
        time.sleep(1.0)
        real_report(generation_id, fraction)
        time.sleep(1.0)

    services._report_progress = slow_report
    real_examine = safety_services.examine_clip

    def slow_examine(*args, **kwargs):
        time.sleep(30.0)
        return real_examine(*args, **kwargs)

    safety_services.examine_clip = slow_examine
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", "-A", "voicegate", "worker", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
