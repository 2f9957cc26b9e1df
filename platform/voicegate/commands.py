"""Base class for the operator commands (the contract in DESIGN.md).

Each command takes ``--json`` and then prints exactly one JSON object on stdout. Errors exit
non-zero; with ``--json`` they print ``{"error": "..."}``. Progress goes to stderr.
"""
from __future__ import annotations

import json
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from voicegate.errors import DomainError


class JsonCommand(BaseCommand):
    """Subclasses implement ``run(**options) -> dict`` and ``describe(result) -> str``."""

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help="print one JSON object on stdout (errors: {\"error\": ...} and a non-zero exit)")
        return parser

    def run(self, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def describe(self, result: dict[str, Any]) -> str:
        return "\n".join(f"{key}: {value}" for key, value in result.items())

    def progress(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def execute(self, *args, **options):
        as_json = options.get("as_json", False)
        try:
            return super().execute(*args, **options)
        except (DomainError, CommandError, ValidationError, OSError) as exc:
            message = _message(exc)
            if as_json:
                self.stdout.write(json.dumps({"error": message}, ensure_ascii=False))
            else:
                self.stderr.write(f"error: {message}")
            raise SystemExit(1) from exc

    def handle(self, *args, **options):
        result = self.run(**options)
        if options.get("as_json"):
            self.stdout.write(json.dumps(result, ensure_ascii=False, default=str))
        else:
            self.stdout.write(self.describe(result))
        return None


def _message(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc)
