"""Two processes working the same cases at once lose nothing and never fork the chain."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable

from surveillance.cases import CaseStore, CaseSummary, ConflictError

OpenCase = Callable[..., CaseSummary]
ROUNDS = 8


def work(store: CaseStore, me: str, rounds: int, case_ids: list[int]) -> dict[str, int]:
    """Each round: a comment, then a reassignment retried on conflicts until it lands."""
    done = {"comments": 0, "assigns": 0, "conflicts": 0}
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
    return done


# The other process: the same loop, started when the test process says go.
CHILD = f"""
import json, sys
from surveillance.cases import CaseStore, ConflictError
{inspect.getsource(work)}
url, me, rounds, case_ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
with CaseStore(url) as store:
    print("ready", flush=True)
    sys.stdin.readline()
    print(json.dumps(work(store, me, rounds, case_ids)), flush=True)
"""


def test_two_processes_lose_no_change(db_url: str, store: CaseStore, open_case: OpenCase) -> None:
    cases = [open_case(assign_to="ana") for _ in range(2)]
    entries_before = len(store.audit_entries())
    ids = [c.id for c in cases]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url, "sam", str(ROUNDS), json.dumps(ids)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
    child.stdin.write("go\n")
    child.stdin.flush()
    mine = work(store, "sue", ROUNDS, ids)
    out, err = child.communicate(timeout=180)
    assert child.returncode == 0, err
    done = [mine, json.loads(out)]
    comments = sum(len(store.get_case(c.id).comments) for c in cases)
    versions = sum(store.case_summary(c.id).version - c.version for c in cases)
    assert comments == sum(d["comments"] for d in done) == 2 * ROUNDS
    assert versions == sum(d["assigns"] for d in done) == 2 * ROUNDS
    assert len(store.audit_entries()) - entries_before == 4 * ROUNDS
    assert store.verify_chain().ok
