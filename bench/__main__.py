"""Run the benchmark scenarios and print PASS/FAIL against each target."""

from __future__ import annotations

import sys

from bench import (
    cold_start,
    console,
    cost,
    delivery,
    escalation,
    export,
    ingest,
    page,
    pipeline,
    record,
    retention,
    tick,
)
from bench.harness import quiet, table, write_result

SCENARIOS = {
    "cold_start": cold_start.run,
    "ingest": ingest.run,
    "pipeline": pipeline.run,
    "tick": tick.run,
    "record": record.run,
    "page": page.run,
    "escalation": escalation.run,
    "console": console.run,
    "delivery": delivery.run,
    "export": export.run,
    "retention": retention.run,
    "cost": cost.run,  # last: prices the requests the scenarios above measured
}


def main(argv: list[str]) -> int:
    chosen = argv or list(SCENARIOS)
    for name in chosen:
        with quiet():  # the app's log and metric lines go where Lambda sends them, not into the tables
            result = SCENARIOS[name]()
        if name == "cold_start":
            write_result(name, result)
            table("cold start (fresh interpreter, median)", [(k, v) for k, v in result.items() if k != "scenario"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
