"""Exports through the case store: who may export, what is packed, and the audit event.

The CLI, the web app and the demo call :func:`export_case` and :func:`export_entity`.
Both check that the acting user may export before any work (reviewers, supervisors
and admins may; analysts may not), read the cases through the store's service layer,
write the signed pack, and then append an ``evidence.exported`` entry to the audit
trail quoting the pack's manifest hash and key fingerprint, so the trail says who
exported exactly which pack.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from surveillance.cases import CaseDetail, CaseFilter, CaseStore, PermissionDenied, UserView
from surveillance.cases.auth import Permission, allowed
from surveillance.config import Config, load_config
from surveillance.days import day_range
from surveillance.errors import InputError
from surveillance.evidence.keys import load_private_key
from surveillance.evidence.pack import CaseEvidence, PackResult, build_pack
from surveillance.settings import Settings


def case_evidence(detail: CaseDetail) -> CaseEvidence:
    """A case store record as the plain :class:`CaseEvidence` a pack is built from."""
    case = detail.case.to_dict()
    proposal = case.pop("proposal", None) or {}
    case["proposed_disposition"] = proposal.get("disposition")
    case["proposed_by"] = proposal.get("proposed_by")
    case["proposed_rationale"] = proposal.get("rationale")
    case["proposed_reference"] = proposal.get("regulator_reference")
    case["related_case_ids"] = [r.id for r in detail.related]
    alerts = []
    for alert in detail.alerts:
        record = alert.to_dict()
        features = record.get("features")
        record["features"] = (
            json.dumps(features, sort_keys=True, separators=(",", ":"))
            if features is not None
            else None
        )
        alerts.append(record)
    return CaseEvidence(
        case=case,
        alerts=alerts,
        comments=[c.to_dict() for c in detail.comments],
        audit=[e.to_dict() for e in detail.history],
    )


def _check_may_export(actor: UserView) -> None:
    if not allowed(actor.role, Permission.EXPORT):
        raise PermissionDenied(
            f"{actor.username} is a {actor.role} and may not export evidence; that needs the "
            "role reviewer, supervisor or admin"
        )


def _details(result: PackResult, out: Path) -> dict[str, Any]:
    return {
        "file": out.name,
        "manifest_sha256": result.manifest_sha256,
        "public_key_fingerprint": result.manifest["signature"]["public_key_fingerprint"],
        "files": result.files,
        "case_ids": result.case_ids,
        "format_version": result.manifest["format_version"],
    }


def export_case(
    settings: Settings,
    store: CaseStore,
    actor: UserView,
    case_id: int,
    out: str | Path,
    *,
    signing_key: str | Path,
    config: Config | None = None,
    created_at: dt.datetime | None = None,
) -> PackResult:
    """Write the signed evidence pack of one case and record the export in the audit trail.

    Raises
    ------
    PermissionDenied
        If the actor's role may not export.
    NotFoundError
        If the case does not exist.
    InputError
        If the signing key cannot be read.
    """
    _check_may_export(actor)
    key = load_private_key(signing_key)
    detail = store.get_case(case_id)
    target = Path(out)
    result = build_pack(
        settings,
        [case_evidence(detail)],
        target,
        private_key=key,
        creator=actor.username,
        scope={"case_id": case_id},
        created_at=created_at,
        config=config or load_config(settings.config_path),
    )
    store.record_export(actor, case_id=case_id, details=_details(result, target))
    return result


def export_entity(
    settings: Settings,
    store: CaseStore,
    actor: UserView,
    entity_id: str,
    first: dt.date,
    last: dt.date,
    out: str | Path,
    *,
    signing_key: str | Path,
    config: Config | None = None,
    created_at: dt.datetime | None = None,
) -> PackResult:
    """Write one signed pack of every case of ``entity_id`` whose window overlaps the period.

    Raises
    ------
    PermissionDenied
        If the actor's role may not export.
    InputError
        If the period is empty.
    """
    _check_may_export(actor)
    if last < first:
        raise InputError(f"period {first} to {last} is empty: the end is before the start")
    key = load_private_key(signing_key)
    page = store.list_cases(
        CaseFilter(entity_id=entity_id, date_from=first, date_to=last),
        sort="date",
        descending=False,
        limit=None,
    )
    cases = [case_evidence(store.get_case(c.id)) for c in page.items]
    target = Path(out)
    scope = {"entity_id": entity_id, "from": first.isoformat(), "to": last.isoformat()}
    result = build_pack(
        settings,
        cases,
        target,
        private_key=key,
        creator=actor.username,
        scope=scope,
        created_at=created_at,
        config=config or load_config(settings.config_path),
    )
    store.record_export(actor, scope=scope, details=_details(result, target))
    return result


def review_cases(
    store: CaseStore, entity_id: str, first: dt.date, last: dt.date
) -> list[dict[str, Any]]:
    """The entity's cases overlapping the period, as flat records for the review report."""
    page = store.list_cases(
        CaseFilter(entity_id=entity_id, date_from=first, date_to=last),
        sort="date",
        descending=False,
        limit=None,
    )
    rows = []
    for case in page.items:
        row = case.to_dict()
        row.pop("proposal", None)
        rows.append(row)
    return rows


def review_alert_dispositions(
    store: CaseStore, entity_id: str, first: dt.date, last: dt.date
) -> list[dict[str, Any]]:
    """The entity's alerts of the period with their case's disposition (``OPEN`` if open)."""
    pairs = store.list_alerts(
        CaseFilter(entity_id=entity_id, date_from=first, date_to=last),
        days=day_range(first, last),
    )
    return [
        {
            "alert_id": alert.alert_id,
            "typology": alert.typology,
            "severity": alert.severity,
            "disposition": case.disposition or "OPEN",
            "case_id": case.id,
        }
        for alert, case in pairs
    ]
