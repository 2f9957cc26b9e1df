"""manage.py provenance_dev_ca DIR --json -> paths of a development CA, signing chain and key."""
from __future__ import annotations

from typing import Any

from voicegate.commands import JsonCommand
from watermark.manifest import generate_dev_ca


class Command(JsonCommand):
    help = ("Create a local root CA and a C2PA signing certificate for development. Point "
            "PROVENANCE_CERT_CHAIN / PROVENANCE_PRIVATE_KEY at chain.pem / leaf.key, and "
            "PROVENANCE_TRUST_ANCHORS at root.pem. Never use these in production.")

    def add_arguments(self, parser):
        parser.add_argument("directory", help="folder to write root.pem, root.key, chain.pem, leaf.key into")
        parser.add_argument("--organisation", default="voicegate development")

    def run(self, **options: Any) -> dict[str, Any]:
        paths = generate_dev_ca(options["directory"], organisation=options["organisation"])
        return {**paths, "settings": {"PROVENANCE_CERT_CHAIN": paths["cert_chain"],
                                      "PROVENANCE_PRIVATE_KEY": paths["private_key"],
                                      "PROVENANCE_TRUST_ANCHORS": paths["root_cert"]}}
