"""Print the README's configuration table from voicegate.config.VARIABLES (or --write it in place)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform")]

from voicegate.config import VARIABLES  # noqa: E402


def table() -> str:
    rows = ["| variable | default | what it does |", "| --- | --- | --- |"]
    rows += [f"| `{v.name}` | {v.default.replace('|', '/')} | {v.help.replace('|', '/')} |" for v in VARIABLES]
    return "\n".join(rows)


if __name__ == "__main__":
    if "--write" in sys.argv:
        readme = ROOT / "README.md"
        text = readme.read_text()
        new = re.sub(r"\| variable \| default \| what it does \|\n(\|.*\|\n)+", table() + "\n", text, count=1)
        readme.write_text(new)
    else:
        print(table())
