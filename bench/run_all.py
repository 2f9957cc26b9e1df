"""Run every benchmark one after another and keep their JSON in bench/results/latest.json.

    .venv/bin/python bench/run_all.py [--full] [name ...]

Without --full the registry benchmarks stop at 10^5 registered clips (building a 10^6 registry
takes tens of minutes and several GB); --full adds 10^6.

Benchmarks share the machine's two cores, so they run sequentially; run this on an idle
machine (timings taken while other work runs are not comparable). The README quotes
bench/results/latest.json.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ["consent", "synthesis", "enrollment", "workers", "watermark", "fingerprint", "verify", "detector", "ui"]
QUICK_ARGS = {"fingerprint": ["--clips", "10000", "100000"], "verify": ["--levels", "10000,100000"]}
ALWAYS_ARGS = {"watermark": ["--json-only"],  # its default output adds a Markdown table
               "detector": ["--studio"]}


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_at_start": os.getloadavg()[0]}


def last_json_object(text: str) -> dict | None:
    """The benchmark's JSON: the last line that parses as an object, or the whole output."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start = text.find("{")
    while start != -1:
        try:
            return json.loads(text[start:])
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
    return None


def main(argv: list[str]) -> int:
    full = "--full" in argv
    names = [a for a in argv if not a.startswith("--")]
    out = ROOT / "bench" / "results" / "latest.json"
    # Running a subset updates those entries and keeps the others' latest results.
    previous = json.loads(out.read_text()).get("benches", {}) if names and out.exists() else {}
    results = {"machine": machine(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "benches": previous}
    failed = 0
    for name in names or BENCHES:
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        args = ALWAYS_ARGS.get(name, []) + ([] if full else QUICK_ARGS.get(name, []))
        proc = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), *args], cwd=ROOT,
                              capture_output=True, text=True)
        parsed = last_json_object(proc.stdout)
        results["benches"][name] = {"args": args, "exit_code": proc.returncode, "seconds": round(time.perf_counter() - started, 1),
                                    "result": parsed}
        if proc.returncode != 0 or parsed is None:
            failed += 1
            results["benches"][name]["stderr_tail"] = proc.stderr[-2000:]
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results, ensure_ascii=False))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
