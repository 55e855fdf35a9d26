"""The hash-chained audit trail: append under a lock, verify from the first entry.

Each entry stores the hash of the entry before it (``prev_hash``) and its own
``hash``: the SHA-256 of its canonical content, a JSON object with sorted keys and
no whitespace holding ``prev_hash``, ``at``, ``actor``, ``action``, ``case_id``,
``before``, ``after`` and ``details``. Anyone can recompute it with a few lines
of any language (``docs/cases.md`` shows how). The sequence number is not hashed:
it only orders entries, and the chain itself proves the order, so renumbering
shows up as a reordering.

The one-row ``audit_head`` table holds the last sequence number and hash. Every
writer locks it before anything else, which serialises appends (the chain never
forks) and lets ``verify_chain`` notice entries deleted from, or added past, the
end. A chain says nothing about an attacker who rewrites every entry and the head
together: anchor the head hash outside the database (``mmsurv audit verify``
prints it; evidence packs carry the hashes of the entries they include).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveillance.cases.models import AuditEntry, AuditHead

#: The hash a chain's first entry points back to.
GENESIS = "0" * 64
SYSTEM_ACTOR = "system"


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no whitespace and UTF-8 text: one text per value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def utc_now() -> dt.datetime:
    """Now in UTC, to the microsecond (what both databases store)."""
    return dt.datetime.now(dt.UTC)


def format_time(moment: dt.datetime) -> str:
    """A UTC time as fixed-width ISO text (sorts as it reads)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_content(
    *,
    prev_hash: str,
    at: str,
    actor: str,
    action: str,
    case_id: int | None,
    before: Any,
    after: Any,
    details: Any,
) -> dict[str, Any]:
    """The hashed content of an entry, as a plain dict."""
    return {
        "prev_hash": prev_hash,
        "at": at,
        "actor": actor,
        "action": action,
        "case_id": case_id,
        "before": before,
        "after": after,
        "details": details,
    }


def entry_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an entry's canonical content."""
    return hashlib.sha256(canonical_json(dict(content)).encode("utf-8")).hexdigest()


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dump(value: Any) -> str | None:
    return None if value is None else canonical_json(value)


def stored_content(row: AuditEntry) -> dict[str, Any]:
    """The content of a stored entry, decoded from its columns."""
    return entry_content(
        prev_hash=row.prev_hash,
        at=row.at,
        actor=row.actor,
        action=row.action,
        case_id=row.case_id,
        before=_load(row.before),
        after=_load(row.after),
        details=_load(row.details),
    )


def lock_head(session: Session) -> AuditHead:
    """Take the chain's head lock for the rest of the transaction and return the head.

    On PostgreSQL this is ``SELECT ... FOR UPDATE``; SQLite ignores ``FOR UPDATE``,
    and the transaction's ``BEGIN IMMEDIATE`` already holds the database's write
    lock. Call it first in every writing transaction, before reading what it
    changes, so that what it reads is what the previous writer committed.
    """
    head = session.execute(
        select(AuditHead).where(AuditHead.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        raise RuntimeError("audit_head row missing: the database was not migrated by mmsurv")
    return head


def append(
    session: Session,
    head: AuditHead,
    *,
    actor: str,
    action: str,
    case_id: int | None = None,
    before: Any = None,
    after: Any = None,
    details: Any = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry after ``head`` (held through :func:`lock_head`) and advance it."""
    stamp = format_time(at or utc_now())
    content = entry_content(
        prev_hash=head.hash,
        at=stamp,
        actor=actor,
        action=action,
        case_id=case_id,
        before=before,
        after=after,
        details=details,
    )
    digest = entry_hash(content)
    row = AuditEntry(
        seq=head.seq + 1,
        at=stamp,
        actor=actor,
        action=action,
        case_id=case_id,
        before=_dump(before),
        after=_dump(after),
        details=_dump(details),
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(row)
    head.seq = row.seq
    head.hash = digest
    return row


@dataclass(frozen=True)
class ChainVerdict:
    """What :func:`verify_chain` found.

    ``first_bad_seq`` names the first entry that is not what was written
    (``problem``: ``edited``, ``deleted``, ``inserted`` or ``reordered``); for an
    entry deleted from the end it is the sequence number the missing entry had.
    """

    ok: bool
    entries: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "message": self.message,
        }


def verify_rows(rows: Sequence[AuditEntry], head: AuditHead | None) -> ChainVerdict:
    """Check a whole chain, ordered by ``seq``, against its head.

    Walks from the first entry and stops at the first break, classifying it:
    an entry whose content no longer matches its hash was *edited*; an entry
    that does not point at the one before it was *inserted* when the next entry
    skips it, *reordered* when it points at an entry stored elsewhere, *deleted*
    when the sequence numbers have a gap where the entry it points at was, and
    otherwise the entry before it was edited and re-hashed (*edited*). Entries
    deleted from or added past the end show up against the head row.
    """
    hashes = [r.hash for r in rows]
    position = {h: i for i, h in enumerate(hashes)}
    head_seq = head.seq if head is not None else 0
    head_hash = head.hash if head is not None else GENESIS

    def broken(seq: int, problem: str, message: str) -> ChainVerdict:
        return ChainVerdict(False, len(rows), head_seq, head_hash, seq, problem, message)

    for i, row in enumerate(rows):
        recomputed = entry_hash(stored_content(row))
        if recomputed != row.hash:
            return broken(
                row.seq,
                "edited",
                f"audit entry {row.seq} ({row.action} by {row.actor} at {row.at}) was edited: "
                f"its content hashes to {recomputed[:12]}..., the chain recorded "
                f"{row.hash[:12]}...",
            )
        expected_prev = hashes[i - 1] if i > 0 else GENESIS
        if row.prev_hash == expected_prev:
            continue
        before_previous = hashes[i - 2] if i > 1 else GENESIS
        if i > 0 and row.prev_hash == before_previous:
            bad = rows[i - 1]
            return broken(
                bad.seq,
                "inserted",
                f"audit entry {bad.seq} ({bad.action} by {bad.actor}) was inserted: entry "
                f"{row.seq} follows the entry before it",
            )
        if row.prev_hash in position:
            return broken(
                row.seq,
                "reordered",
                f"audit entry {row.seq} ({row.action} by {row.actor}) is out of order: it "
                f"follows entry {rows[position[row.prev_hash]].seq}, not entry "
                f"{rows[i - 1].seq if i > 0 else 'none (the start)'}",
            )
        previous_seq = rows[i - 1].seq if i > 0 else 0
        if row.seq == previous_seq + 1 and i > 0:
            bad = rows[i - 1]
            return broken(
                bad.seq,
                "edited",
                f"audit entry {bad.seq} ({bad.action} by {bad.actor}) was replaced: it was "
                f"edited and re-hashed, and entry {row.seq} still points to the original",
            )
        return broken(
            previous_seq + 1,
            "deleted",
            f"audit entry {previous_seq + 1} was deleted: entry {row.seq} ({row.action} by "
            f"{row.actor}) follows an entry that is no longer stored",
        )
    last_seq = rows[-1].seq if rows else 0
    last_hash = hashes[-1] if rows else GENESIS
    if head is not None and (last_seq, last_hash) != (head.seq, head.hash):
        if head.seq > last_seq:
            return broken(
                last_seq + 1,
                "deleted",
                f"audit entry {last_seq + 1} was deleted: the chain's head records "
                f"{head.seq} entries, the table ends at entry {last_seq}",
            )
        if head.seq < last_seq:
            extra = next(r for r in rows if r.seq > head.seq)
            return broken(
                extra.seq,
                "inserted",
                f"audit entry {extra.seq} ({extra.action} by {extra.actor}) was inserted: the "
                f"chain's head ends at entry {head.seq}, the table holds {last_seq}",
            )
        return broken(
            last_seq,
            "edited",
            f"audit entry {last_seq} was replaced: it was edited and re-hashed, its hash no "
            f"longer matches the chain's head ({head.hash[:12]}...)",
        )
    return ChainVerdict(
        True,
        len(rows),
        head_seq,
        head_hash,
        message=f"audit chain intact: {len(rows)} entries, head {head_hash}",
    )


def verify_chain(session: Session) -> ChainVerdict:
    """Verify the stored chain (see :func:`verify_rows`)."""
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    head = session.get(AuditHead, 1)
    return verify_rows(rows, head)
