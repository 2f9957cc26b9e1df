from voicegate.audit.services import verify_chain
from voicegate.commands import JsonCommand


class Command(JsonCommand):
    help = "Check the audit hash chain; exits non-zero when an entry was edited, deleted or reordered."

    def run(self, **options):
        return verify_chain().as_dict()

    def handle(self, *args, **options):
        super().handle(*args, **options)
        if not verify_chain().ok:
            raise SystemExit(2)

    def describe(self, result):
        if result["ok"]:
            return f"audit chain intact: {result['entries']} entries"
        return f"audit chain BROKEN at entry {result['first_bad']}: {result['reason']}"
