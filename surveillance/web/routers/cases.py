"""The case page, its market replay data, and the workflow actions.

Each action posts a form carrying the case ``version`` the user saw. The route
checks the role first (a refused role gets 403 before anything is read), then the
case store applies the action and checks everything again (role, four eyes,
workflow, optimistic lock). Outcomes:

- done: 303 back to the case page with a confirmation;
- conflict (someone changed the case meanwhile): 409, the case page as it now is,
  a message saying what happened, and the user's text kept in the form;
- refused by the workflow (missing rationale, wrong state): 422, likewise;
- refused by role: 403, a plain message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from surveillance.cases import CaseStore
from surveillance.cases.errors import ConflictError, PermissionDenied, WorkflowError
from surveillance.cases.views import AuditEntryView, CaseDetail, UserView
from surveillance.cases.workflow import Action, Disposition
from surveillance.errors import InputError
from surveillance.web import deps, store
from surveillance.web.models import (
    ApproveForm,
    AssignForm,
    CloseForm,
    CommentForm,
    EscalateForm,
    ReasonForm,
)
from surveillance.web.replay import build_replay

router = APIRouter()


def feature_rows(features: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """An alert's features as (name, value, baseline, ratio) rows.

    Detectors record each triggering value beside its baseline, either nested
    (``{"x": {"value": 3, "baseline": 1}}``) or as sibling keys (``x`` with
    ``baseline_x`` or ``x_baseline``); both read as one row.
    """
    if not features:
        return []
    flat = dict(features)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for name, value in flat.items():
        if name in used:
            continue
        baseline: Any = None
        if isinstance(value, Mapping) and "value" in value:
            baseline = value.get("baseline")
            value = value.get("value")
        else:
            for candidate in (f"baseline_{name}", f"{name}_baseline"):
                if candidate in flat:
                    baseline = flat[candidate]
                    used.add(candidate)
                    break
            if name.startswith("baseline_") and name[9:] in flat:
                continue
            if name.endswith("_baseline") and name[:-9] in flat:
                continue
        used.add(name)
        ratio = None
        if (
            isinstance(value, int | float)
            and isinstance(baseline, int | float)
            and baseline not in (0, None)
            and not isinstance(value, bool)
        ):
            ratio = float(value) / float(baseline)
            if math.isnan(ratio) or math.isinf(ratio):
                ratio = None
        rows.append(
            {"name": name, "value": _show(value), "baseline": _show(baseline), "ratio": ratio}
        )
    return rows


def _show(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.6g}"
    if isinstance(value, list | tuple):
        return ", ".join(_show(v) for v in value[:10]) + (" …" if len(value) > 10 else "")
    return str(value)


_TEXT_KEYS = (
    "rationale",
    "reason",
    "body",
    "note",
    "disposition_rationale",
    "proposed_rationale",
    "regulator_reference",
    "proposed_reference",
)


def history_detail(entry: AuditEntryView) -> str:
    """One line saying what an audit entry changed (status, assignee, text given)."""
    before = entry.before if isinstance(entry.before, Mapping) else {}
    after = entry.after if isinstance(entry.after, Mapping) else {}
    details = entry.details if isinstance(entry.details, Mapping) else {}
    parts = []
    for key in ("status", "assignee", "disposition", "severity", "proposed_disposition"):
        if key in after and before.get(key) != after.get(key):
            label = key.replace("_", " ")
            parts.append(f"{label}: {before.get(key) or '—'} → {after.get(key) or '—'}")
    for key in _TEXT_KEYS:
        text = details.get(key) or after.get(key)
        if text:
            parts.append(f"{key.replace('_', ' ')}: {text}")
    return "; ".join(parts)


def _case_context(
    request: Request,
    cases: CaseStore,
    detail: CaseDetail,
    user: Any,
    draft: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    web = request.app.state.web
    case = detail.case
    order_ids: set[str] = set()
    trade_ids: set[str] = set()
    for alert in detail.alerts:
        order_ids.update(alert.order_ids)
        trade_ids.update(alert.trade_ids)
    replay = build_replay(
        request.app.state.settings.lake,
        case.symbol,
        pd.Timestamp(case.window_start),
        pd.Timestamp(case.window_end),
        order_ids=order_ids,
        trade_ids=trade_ids,
        margin_s=web.replay_margin_seconds,
        max_points=web.replay_max_points,
        max_table_rows=web.replay_max_table_rows,
        chart=False,
    )
    return {
        "nav": "queue",
        "c": case,
        "alerts": detail.alerts,
        "comments": detail.comments,
        "history": detail.history,
        "related": detail.related,
        "replay": replay,
        "can": store.capabilities(
            cases, user, case, can_sign=request.app.state.signing_key is not None
        ),
        "export_role": user.role in ("reviewer", "supervisor", "admin"),
        "four_eyes": cases.needs_four_eyes(case),
        "workers": store.case_workers(cases),
        "dispositions": [d.value for d in Disposition],
        "draft": draft or {},
        "feature_rows": feature_rows,
        "history_detail": history_detail,
    }


@router.get("/cases/{case_id}", name="case_page")
def case_page(
    request: Request, case_id: int, user: deps.CurrentUser, cases: deps.StoreDep
) -> Response:
    detail = store.case_detail(cases, case_id)
    return deps.render(request, "case.html", _case_context(request, cases, detail, user))


@router.get("/cases/{case_id}/replay.json", name="case_replay")
def case_replay(
    request: Request,
    case_id: int,
    user: deps.CurrentUser,
    cases: deps.StoreDep,
    start: Annotated[float | None, Query(description="zoomed span, UTC epoch seconds")] = None,
    end: Annotated[float | None, Query(description="zoomed span, UTC epoch seconds")] = None,
) -> Response:
    """The chart's series for the case window, or for a zoomed part of it (``start``
    and ``end``), which is then drawn at full detail when the whole was thinned."""
    detail = store.case_detail(cases, case_id)
    web = request.app.state.web
    order_ids = {o for a in detail.alerts for o in a.order_ids}
    trade_ids = {t for a in detail.alerts for t in a.trade_ids}
    view = None
    if start is not None and end is not None and end > start:
        view = (pd.Timestamp(start, unit="s", tz="UTC"), pd.Timestamp(end, unit="s", tz="UTC"))
    data = build_replay(
        request.app.state.settings.lake,
        detail.case.symbol,
        pd.Timestamp(detail.case.window_start),
        pd.Timestamp(detail.case.window_end),
        order_ids=order_ids,
        trade_ids=trade_ids,
        margin_s=web.replay_margin_seconds,
        max_points=web.replay_max_points,
        max_table_rows=1,
        view=view,
        alert_windows=[
            (pd.Timestamp(a.window_start), pd.Timestamp(a.window_end)) for a in detail.alerts
        ],
    ).data
    assert data is not None  # chart=True always builds the series
    # Serialised once, here: a response model would validate every point again.
    return Response(data.model_dump_json(), media_type="application/json")


_VERBS = {
    Action.ASSIGN: "assign cases",
    Action.COMMENT: "comment on cases",
    Action.ESCALATE: "escalate cases",
    Action.CLOSE: "close cases",
    Action.APPROVE: "approve closures",
    Action.REJECT: "reject closures",
    Action.REOPEN: "reopen cases",
}

_DONE = {
    Action.ASSIGN: "Case assigned to {assignee}.",
    Action.COMMENT: "Comment added.",
    Action.ESCALATE: "Case escalated.",
    Action.CLOSE: "Done: {outcome}.",
    Action.APPROVE: "Closure approved: the case is closed.",
    Action.REJECT: "Closure proposal rejected: the case stays open.",
    Action.REOPEN: "Case reopened.",
}


def _act(
    request: Request,
    user: UserView,
    cases: CaseStore,
    case_id: int,
    action: Action,
    version: int,
    fields: dict[str, Any],
) -> Response:
    if not store.role_may(user, action):
        raise PermissionDenied(
            f"You are signed in as {user.username} with role {user.role}, which may not "
            f"{_VERBS[action]}. Nothing was changed."
        )
    try:
        after = store.perform(cases, user, case_id, action, version, **fields)
    except (ConflictError, WorkflowError) as exc:
        conflict = isinstance(exc, ConflictError)
        if isinstance(exc, ConflictError):
            message = (
                f"Not saved: case #{case_id} was changed by someone else while you were "
                "looking at it (you saw version "
                f"{exc.expected}, it is now at version {exc.found}). The page below shows it as "
                "it is now; your text is kept in the form. Check the history, then submit "
                "again if it still applies."
            )
        else:
            message = f"Not done: {exc}"
        detail = store.case_detail(cases, case_id)
        draft = _draft(action, fields)
        context = _case_context(request, cases, detail, user, draft)
        context["flashes"] = [("conflict" if conflict else "error", message)]
        return deps.render(request, "case.html", context, status_code=409 if conflict else 422)
    outcome = "the closure is proposed and waits for a supervisor's approval"
    if after.status == "CLOSED":
        outcome = f"the case is closed as {after.disposition}"
    deps.flash(request, "ok", _DONE[action].format(outcome=outcome, **fields))
    return RedirectResponse(request.url_for("case_page", case_id=case_id).path, 303)


def _draft(action: Action, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The user's text, returned to the form it came from."""
    if action is Action.COMMENT:
        return {"body": fields.get("body")}
    if action is Action.ESCALATE:
        return {"escalate": fields.get("rationale")}
    if action is Action.CLOSE:
        return {
            "rationale": fields.get("rationale"),
            "disposition": fields.get("disposition"),
            "regulator_reference": fields.get("regulator_reference"),
        }
    return {}


@router.post("/cases/{case_id}/assign", name="case_assign")
def case_assign(
    request: Request,
    case_id: int,
    form: Annotated[AssignForm, Form()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    fields = {"assignee": form.assignee}
    return _act(request, user, cases, case_id, Action.ASSIGN, form.version, fields)


@router.post("/cases/{case_id}/comment", name="case_comment")
def case_comment(
    request: Request,
    case_id: int,
    form: Annotated[CommentForm, Form()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    fields = {"body": form.body}
    return _act(request, user, cases, case_id, Action.COMMENT, form.version, fields)


@router.post("/cases/{case_id}/escalate", name="case_escalate")
def case_escalate(
    request: Request,
    case_id: int,
    form: Annotated[EscalateForm, Form()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    fields = {"rationale": form.rationale}
    return _act(request, user, cases, case_id, Action.ESCALATE, form.version, fields)


@router.post("/cases/{case_id}/close", name="case_close")
def case_close(
    request: Request,
    case_id: int,
    form: Annotated[CloseForm, Form()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    fields = {
        "disposition": form.disposition.value,
        "rationale": form.rationale,
        "regulator_reference": form.regulator_reference,
    }
    return _act(request, user, cases, case_id, Action.CLOSE, form.version, fields)


@router.post("/cases/{case_id}/approve", name="case_approve")
def case_approve(
    request: Request,
    case_id: int,
    form: Annotated[ApproveForm, Form()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    return _act(request, user, cases, case_id, Action.APPROVE, form.version, {})


@router.post("/cases/{case_id}/reject", name="case_reject")
def case_reject(
    request: Request,
    case_id: int,
    form: Annotated[ReasonForm, Form()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    fields = {"reason": form.reason}
    return _act(request, user, cases, case_id, Action.REJECT, form.version, fields)


@router.post("/cases/{case_id}/reopen", name="case_reopen")
def case_reopen(
    request: Request,
    case_id: int,
    form: Annotated[ReasonForm, Form()],
    user: deps.CurrentUser,
    cases: deps.StoreDep,
) -> Response:
    fields = {"reason": form.reason}
    return _act(request, user, cases, case_id, Action.REOPEN, form.version, fields)


@router.post("/cases/{case_id}/export", name="case_export")
def case_export(
    request: Request, case_id: int, user: deps.CurrentUser, cases: deps.StoreDep
) -> Response:
    """The case's signed evidence pack as a download; the export is an audit event."""
    try:
        data, filename = store.export_pack(
            request.app.state.settings, cases, user, case_id, request.app.state.signing_key
        )
    except InputError as exc:
        deps.flash(request, "error", f"No evidence pack was exported: {exc}")
        return RedirectResponse(request.url_for("case_page", case_id=case_id).path, 303)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
