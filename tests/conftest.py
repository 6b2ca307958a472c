"""Shared test helpers: tier markers from the folder a test lives in, the run's peak memory, hypothesis's profile.

At the end of every run the summary prints the peak resident memory of the
pytest process (and of each xdist worker) and of the largest child process
(DynamoDB Local, moto server, the local API, CDK synth), so a leak shows up
in CI's output, not only on a developer's machine.
"""

from __future__ import annotations

import resource
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Timing belongs in benchmarks: on a loaded machine hypothesis's deadline and its "generation is slow"
# check fail tests whose properties hold.  Examples, seeds and every other health check are unchanged.
settings.register_profile("carewire", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("carewire")

PEAK_KEY = "carewire_peak_rss_mb"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for tier in ("unit", "contract", "integration", "e2e", "infra"):
            if f"/tests/{tier}/" in str(item.path):
                item.add_marker(getattr(pytest.mark, tier))


def _peak_mb(who: int) -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(who).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the figures to the controller
        workeroutput[PEAK_KEY] = (_peak_mb(resource.RUSAGE_SELF), _peak_mb(resource.RUSAGE_CHILDREN))


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_WORKERS] = {}


_WORKERS = pytest.StashKey[dict[str, tuple[float, float]]]()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    figures = getattr(node, "workeroutput", {}).get(PEAK_KEY)
    if figures:
        node.config.stash[_WORKERS][node.gateway.id] = figures


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    workers = config.stash[_WORKERS]
    lines = [f"pytest process: {_peak_mb(resource.RUSAGE_SELF)} MB"]
    lines += [f"worker {name}: {own} MB" for name, (own, _) in sorted(workers.items())]
    children = [_peak_mb(resource.RUSAGE_CHILDREN), *(kids for _, kids in workers.values())]
    lines.append(f"largest child process (emulators, local API, synth): {max(children)} MB")
    terminalreporter.write_sep("=", "peak resident memory")
    for line in lines:
        terminalreporter.write_line(line)
