"""What the platform left in default_storage (a local folder or S3), for tests that check it."""
from __future__ import annotations

from django.core.files.storage import default_storage


def stored_files(prefix: str) -> set[str]:
    """Every file under ``prefix`` (recursively), as storage names."""
    found: set[str] = set()

    def walk(folder: str) -> None:
        try:
            folders, files = default_storage.listdir(folder)
        except FileNotFoundError:
            return
        found.update(f"{folder}/{name}" for name in files)
        for sub in folders:
            walk(f"{folder}/{sub}")

    walk(prefix.rstrip("/"))
    return found
