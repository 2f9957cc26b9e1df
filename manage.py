#!/usr/bin/env python
"""Django's command-line utility for the voicegate service."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The service package lives in platform/voicegate; platform/ itself is not a package,
# so the standard library's `platform` module stays importable (see README).
for entry in (str(ROOT), str(ROOT / "platform")):
    if entry not in sys.path:
        sys.path.insert(0 if entry == str(ROOT) else 1, entry)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voicegate.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
