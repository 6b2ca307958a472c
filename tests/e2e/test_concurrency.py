"""200 concurrent clients posting readings to the local stack for 60 s: nothing lost, nothing twice, no 5xx.

Each client posts fresh readings and, a third of the time, posts the same
reading again (what a phone does when a response is lost), and retries any
connection error or 503 with the same reading_id.  Afterwards every
acknowledged reading is stored exactly once, and nothing unacknowledged is.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from typing import Any

import requests

from chalicelib.domain.timeutil import iso
from tests.e2e.conftest import Http
from tests.e2e.test_alerts_and_messaging import server_now

CLIENTS = 200
PATIENTS = 20
SECONDS = float(os.environ.get("CAREWIRE_CONCURRENCY_SECONDS", "60"))


def test_200_clients_for_a_minute_lose_nothing_and_store_nothing_twice(http: Http, clinic: dict[str, Any]) -> None:
    tag = uuid.uuid4().hex[:6]
    pids = [f"p-load-{tag}-{n:02d}" for n in range(PATIENTS)]
    for pid in pids:
        enrolled = {"patient_id": pid, "given_name": "L", "family_name": "L", "timezone": "UTC", "channels": []}
        assert http.call("POST", "/patients", enrolled, as_=clinic["c1"]).status_code == 201
    tokens = {pid: http.token("patient", pid) for pid in pids}
    measured_at = iso(server_now(http))
    statuses: Counter[int] = Counter()
    acknowledged: dict[str, set[str]] = {pid: set() for pid in pids}
    bodies: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + SECONDS

    def client(n: int) -> None:
        pid = pids[n % PATIENTS]
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[pid]}"
        rng = random.Random(n)
        while time.monotonic() < deadline:
            reading = {
                "reading_id": str(uuid.uuid4()),
                "type": "blood_glucose",
                "value": rng.randint(90, 160),
                "unit": "mg/dL",
                "measured_at": measured_at,
                "source": "device",
                "device_id": f"meter-{n}",
            }
            sends = 2 if rng.random() < 1 / 3 else 1
            while sends:
                try:
                    response = session.post(f"{http.base}/patients/{pid}/readings", json=reading, timeout=30)
                except requests.RequestException:
                    continue  # the same reading again, as a phone would
                with lock:
                    statuses[response.status_code] += 1
                if response.status_code == 503:
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                if response.status_code in (200, 201):
                    with lock:
                        acknowledged[pid].add(reading["reading_id"])
                        first = bodies.setdefault(reading["reading_id"], response.json())
                        assert first == response.json()  # a replay answers the identical body
                sends -= 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not [s for s in statuses if s >= 500 and s != 503], statuses
    assert set(statuses) <= {200, 201, 503}, statuses
    total = sum(len(ids) for ids in acknowledged.values())
    assert total > CLIENTS  # every client got work through
    for pid in pids:
        stored: list[str] = []
        cursor = None
        while True:
            params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
            page = http.call("GET", f"/patients/{pid}/readings", as_=("patient", pid), params=params).json()
            stored += [r["reading_id"] for r in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(stored) == len(set(stored)), f"{pid}: a reading stored twice"
        assert set(stored) == acknowledged[pid], f"{pid}: lost or unacknowledged readings"
    # Leave the stack idle for the tests after this one: the stream still has every reading to process.
    started = time.monotonic()
    assert http.session.post(f"{http.base}/_local/drain", timeout=1800).status_code == 200
    print(
        f"\n{CLIENTS} clients, {SECONDS:.0f} s: {dict(statuses)}; {total} readings stored once each;"
        f" stream backlog drained in {time.monotonic() - started:.0f} s"
    )
