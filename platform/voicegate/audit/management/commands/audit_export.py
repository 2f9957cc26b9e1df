import sys

from voicegate.audit.selectors import audit_entries
from voicegate.audit.services import export_csv, export_jsonl
from voicegate.commands import JsonCommand


class Command(JsonCommand):
    help = "Export the audit trail as JSON Lines or CSV for a reviewer."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
        parser.add_argument("--out", help="file to write (default: stdout)")
        parser.add_argument("--org", help="only this organisation's entries (id)")

    def run(self, **options):
        entries = audit_entries(organisation=options.get("org")).order_by("seq")
        writer = export_csv if options["format"] == "csv" else export_jsonl
        count = 0
        target = open(options["out"], "w", encoding="utf-8", newline="") if options.get("out") else sys.stdout
        try:
            for chunk in writer(entries.iterator()):
                target.write(chunk)
                count += 1
        finally:
            if target is not sys.stdout:
                target.close()
        return {"path": options.get("out") or "-", "format": options["format"],
                "entries": max(count - 1, 0) if options["format"] == "csv" else count}
