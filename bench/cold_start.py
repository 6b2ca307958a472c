"""Cold start: fresh-process import of the app vs the floor ``import boto3, chalice, pydantic``.

Each sample is a new interpreter (``python -c``), timed from inside so interpreter
start-up itself is excluded; the median of N samples is reported with peak RSS.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import time, resource; t = time.perf_counter(); {stmt}; "
    "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)
TARGET_RATIO = 1.3


def sample(stmt: str, runs: int) -> tuple[float, int]:
    # Bytecode caches are written by the warm-up and then used, as for the installed
    # libraries of the floor: ship the package with its .pyc files (see docs/design.md "Cold start").
    env = {**os.environ, "CAREWIRE_STAGE": "dev"}
    times, rss = [], []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE.format(stmt=stmt)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        times.append(float(out[0]))
        rss.append(int(out[1]))
    return statistics.median(times), max(rss)


def run(runs: int = 15) -> dict[str, object]:
    sample("import app", 2)  # warm the bytecode cache, as a deployed package has it
    floor_s, floor_rss = sample("import boto3, chalice, pydantic", runs)
    app_s, app_rss = sample("import app", runs)
    ratio = app_s / floor_s
    return {
        "scenario": "cold_start",
        "runs": runs,
        "floor_import_ms": round(floor_s * 1000, 1),
        "app_import_ms": round(app_s * 1000, 1),
        "ratio": round(ratio, 2),
        "floor_peak_rss_kb": floor_rss,
        "app_peak_rss_kb": app_rss,
        "target": f"app import <= {TARGET_RATIO} x floor",
        "pass": ratio <= TARGET_RATIO,
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
