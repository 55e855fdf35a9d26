"""Two processes working the same cases at once lose nothing and never fork the chain."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from surveillance.cases import CaseStore, CaseSummary

OpenCase = Callable[..., CaseSummary]
ROUNDS = 5

# Each round: a comment, then a reassignment retried on conflicts until it lands.
WORKER = r"""
import json, sys
from surveillance.cases import CaseStore, ConflictError
url, me, rounds, case_ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
done = {"comments": 0, "assigns": 0, "conflicts": 0}
with CaseStore(url) as store:
    for i in range(rounds):
        case_id = case_ids[i % len(case_ids)]
        store.comment(me, case_id, f"{me} round {i}")
        done["comments"] += 1
        while True:
            seen = store.case_summary(case_id)
            target = "bob" if seen.assignee == "ana" else "ana"
            try:
                store.assign(me, case_id, seen.version, target)
                done["assigns"] += 1
                break
            except ConflictError:
                done["conflicts"] += 1
print(json.dumps(done))
"""


def test_two_processes_lose_no_change(db_url: str, store: CaseStore, open_case: OpenCase) -> None:
    cases = [open_case(assign_to="ana") for _ in range(2)]
    entries_before = len(store.audit_entries())
    ids = json.dumps([c.id for c in cases])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, actor, str(ROUNDS), ids],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for actor in ("sue", "sam")
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    done = [json.loads(out) for out, _ in outputs]
    comments = sum(len(store.get_case(c.id).comments) for c in cases)
    versions = sum(store.case_summary(c.id).version - c.version for c in cases)
    assert comments == sum(d["comments"] for d in done) == 2 * ROUNDS
    assert versions == sum(d["assigns"] for d in done) == 2 * ROUNDS
    assert len(store.audit_entries()) - entries_before == 4 * ROUNDS
    assert store.verify_chain().ok
