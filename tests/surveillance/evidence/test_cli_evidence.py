"""``mmsurv evidence export|verify``, ``mmsurv keys generate`` and ``mmsurv report review``."""

from __future__ import annotations

import datetime as dt
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from surveillance.cases import CaseStore

Run = Callable[..., Any]


def _export(mmsurv: Run, world: Any, out: Path, user: str = "rita", *extra: str) -> Any:
    return mmsurv(
        "evidence",
        "export",
        "--case",
        str(world.case_id),
        "--out",
        str(out),
        "--user",
        user,
        "--signing-key",
        str(world.keys.private_key),
        *world.cli_options(),
        *extra,
    )


def test_keys_generate_writes_a_private_key_only_its_owner_can_read(
    mmsurv: Run, tmp_path: Path
) -> None:
    result = mmsurv("keys", "generate", "--out", str(tmp_path / "k"))
    assert result.exit_code == 0, result.stderr
    private = next((tmp_path / "k").glob("*signing-key.pem"))
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "fingerprint SHA256:" in result.stdout


def test_keys_generate_refuses_to_overwrite_a_key(mmsurv: Run, tmp_path: Path) -> None:
    mmsurv("keys", "generate", "--out", str(tmp_path / "k"))
    result = mmsurv("keys", "generate", "--out", str(tmp_path / "k"))
    assert result.exit_code == 2
    assert "already exists" in result.stderr


def test_a_reviewer_exports_a_case_and_the_pack_verifies(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    out = tmp_path / "case.zip"
    exported = _export(mmsurv, world, out)
    assert exported.exit_code == 0, exported.stderr
    verified = mmsurv("evidence", "verify", str(out), "--public-key", str(world.keys.public_key))
    assert verified.exit_code == 0, verified.stderr
    assert verified.stdout.startswith(f"OK {out}")


def test_an_export_is_recorded_in_the_audit_trail(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    _export(mmsurv, world, tmp_path / "case.zip")
    with CaseStore(world.settings.db_url) as store:
        entries = store.audit_entries(world.case_id)
        assert store.verify_chain().ok
    exported = [e for e in entries if e.action == "evidence.exported"]
    assert len(exported) == 1
    assert exported[0].actor == "rita"
    assert exported[0].details["details"]["file"] == "case.zip"


def test_the_pack_holds_the_case_its_comments_and_audit_entries(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    out = tmp_path / "case.zip"
    _export(mmsurv, world, out)
    with zipfile.ZipFile(out) as archive:
        case = json.loads(archive.read("case.json"))["cases"][0]
        audit = [json.loads(line) for line in archive.read("audit.jsonl").splitlines()]
    assert case["id"] == world.case_id
    assert case["comments"][0]["author"] == "ana"
    assert {e["case_id"] for e in audit} == {world.case_id}
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in audit)


def test_an_analyst_may_not_export(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSURV_PASSWORD", "analyst-password-1")
    out = tmp_path / "case.zip"
    result = _export(mmsurv, world, out, "ana")
    assert result.exit_code == 1
    assert "may not export" in result.stderr
    assert not out.exists()


def test_export_without_a_signing_key_is_bad_usage(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    result = mmsurv(
        "evidence",
        "export",
        "--case",
        str(world.case_id),
        "--out",
        str(tmp_path / "x.zip"),
        "--user",
        "rita",
        *world.cli_options(),
    )
    assert result.exit_code == 2
    assert "MMSURV_SIGNING_KEY" in result.stderr


def test_the_signing_key_comes_from_the_environment(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    monkeypatch.setenv("MMSURV_SIGNING_KEY", str(world.keys.private_key))
    result = mmsurv(
        "evidence",
        "export",
        "--case",
        str(world.case_id),
        "--out",
        str(tmp_path / "x.zip"),
        "--user",
        "rita",
        *world.cli_options(),
    )
    assert result.exit_code == 0, result.stderr
    assert world.keys.fingerprint in result.stdout


def test_verify_names_the_changed_file_and_exits_1(
    mmsurv: Run,
    world: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rewrite: Callable[[bytes, str, bytes | None], bytes],
) -> None:
    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    out = tmp_path / "case.zip"
    _export(mmsurv, world, out)
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(rewrite(out.read_bytes(), "data/trades.csv", b"trade_id\nT1\n"))
    result = mmsurv("evidence", "verify", str(tampered))
    assert result.exit_code == 1
    assert "FAIL data/trades.csv" in result.stderr


def test_an_entity_export_packs_every_case_of_the_period(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    out = tmp_path / "entity.zip"
    result = mmsurv(
        "evidence",
        "export",
        "--entity",
        "GROUP",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-02",
        "--out",
        str(out),
        "--user",
        "rita",
        "--signing-key",
        str(world.keys.private_key),
        *world.cli_options(),
    )
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(out) as archive:
        document = json.loads(archive.read("case.json"))
    assert [c["id"] for c in document["cases"]] == [world.case_id]
    assert document["scope"] == {"entity_id": "GROUP", "from": "2026-03-01", "to": "2026-03-02"}


def test_export_needs_a_case_or_an_entity(mmsurv: Run, tmp_path: Path) -> None:
    result = mmsurv("evidence", "export", "--out", str(tmp_path / "x.zip"))
    assert result.exit_code == 2
    assert "--case ID or --entity" in result.stderr


def test_report_review_writes_the_html_report(mmsurv: Run, world: Any, tmp_path: Path) -> None:
    out = tmp_path / "review.html"
    result = mmsurv(
        "report",
        "review",
        "--entity",
        "GROUP",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-02",
        "--out",
        str(out),
        *world.cli_options(),
    )
    assert result.exit_code == 0, result.stderr
    assert "1 case(s)" in result.stdout
    html = out.read_text()
    assert "Independent review: GROUP" in html
    assert "By typology and disposition of their case" in html
    assert '<td>PT_OFF_MARKET_EXECUTION</td><td class="num">1</td>' in html


def test_report_review_of_an_unknown_entity_is_bad_input(
    mmsurv: Run, world: Any, tmp_path: Path
) -> None:
    result = mmsurv(
        "report",
        "review",
        "--entity",
        "NOBODY",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-02",
        "--out",
        str(tmp_path / "r.html"),
        *world.cli_options(),
    )
    assert result.exit_code == 2
    assert "entity 'NOBODY'" in result.stderr


def test_exporting_a_case_twice_gives_identical_data_files(
    mmsurv: Run, world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    monkeypatch.setenv("MMSURV_PASSWORD", "reviewer-password-1")
    first, second = tmp_path / "first.zip", tmp_path / "second.zip"
    _export(mmsurv, world, first)
    _export(mmsurv, world, second)
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        data = [n for n in a.namelist() if n.startswith("data/")]
        assert data == [n for n in b.namelist() if n.startswith("data/")]
        assert all(a.read(n) == b.read(n) for n in data)
        entries = [json.loads(z.read("manifest.json"))["files"] for z in (a, b)]
        # audit.jsonl grows by the first export's own audit entry; the data do not change.
        assert [e for e in entries[0] if e["path"].startswith("data/")] == [
            e for e in entries[1] if e["path"].startswith("data/")
        ]
        assert a.read("audit.jsonl") != b.read("audit.jsonl")


def test_verify_with_an_unreadable_public_key_is_bad_input(
    mmsurv: Run, signed_pack: tuple[Path, Path], tmp_path: Path
) -> None:
    result = mmsurv(
        "evidence", "verify", str(signed_pack[0]), "--public-key", str(tmp_path / "nope.pem")
    )
    assert result.exit_code == 2
    assert "nope.pem: cannot be read" in result.stderr


def test_verify_without_a_trusted_key_warns_that_authorship_is_unproven(
    mmsurv: Run, signed_pack: tuple[Path, Path]
) -> None:
    result = mmsurv("evidence", "verify", str(signed_pack[0]))
    assert result.exit_code == 0
    assert "pass --public-key" in result.stderr


def test_the_review_counts_alerts_by_the_disposition_of_their_case(world: Any) -> None:
    from surveillance.evidence.store import review_alert_dispositions

    with CaseStore(world.settings.db_url) as store:
        records = review_alert_dispositions(
            store, "GROUP", dt.date(2026, 3, 2), dt.date(2026, 3, 2)
        )
    assert [(r["typology"], r["disposition"]) for r in records] == [
        ("PT_OFF_MARKET_EXECUTION", "OPEN")
    ]
