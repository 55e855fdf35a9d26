"""A reviewer can verify a pack with the standard tools, exactly as docs/evidence.md says.

The commands are read from the documentation itself, so the documentation cannot drift
from what actually works.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from surveillance.evidence.keys import generate_keypair, load_private_key

DOC = Path(__file__).resolve().parents[3] / "docs" / "evidence.md"
TOOLS = ("bash", "unzip", "openssl", "sha256sum", "jq", "python3")


def _block_after(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(marker)
    match = re.search(r"```sh\n(.*?)```", text[start:], flags=re.S)
    assert match, f"no ```sh block after {marker!r} in {DOC}"
    return match.group(1)


@pytest.fixture
def reviewer_folder(tmp_path: Path) -> Callable[[bytes, bytes], Path]:
    """Lays out a reviewer's folder: the pack as PACK.zip and the trusted key as pub.pem."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"standard tools not installed: {', '.join(missing)}")

    def make(pack: bytes, public_key: bytes) -> Path:
        folder = tmp_path / f"review-{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        (folder / "PACK.zip").write_bytes(pack)
        (folder / "pub.pem").write_bytes(public_key)
        return folder

    return make


def _run_documented(folder: Path) -> subprocess.CompletedProcess[str]:
    script = _block_after("<!-- verify-commands")
    return subprocess.run(
        ["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=60
    )


def test_the_documented_commands_verify_an_intact_pack(
    signed_pack: tuple[Path, Path], reviewer_folder: Callable[[bytes, bytes], Path]
) -> None:
    pack, public_key = signed_pack
    result = _run_documented(reviewer_folder(pack.read_bytes(), public_key.read_bytes()))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout
    assert result.stdout.rstrip().endswith("pack verified")


def test_the_documented_commands_name_a_changed_file(
    signed_pack: tuple[Path, Path],
    reviewer_folder: Callable[[bytes, bytes], Path],
    rewrite: Callable[[bytes, str, bytes | None], bytes],
) -> None:
    pack, public_key = signed_pack
    tampered = rewrite(pack.read_bytes(), "data/orders.csv", b"event_time\n")
    result = _run_documented(reviewer_folder(tampered, public_key.read_bytes()))
    assert result.returncode != 0
    assert "data/orders.csv: FAILED" in result.stdout


def test_the_documented_commands_catch_an_added_file(
    signed_pack: tuple[Path, Path],
    reviewer_folder: Callable[[bytes, bytes], Path],
    rewrite: Callable[[bytes, str, bytes | None], bytes],
) -> None:
    pack, public_key = signed_pack
    tampered = rewrite(pack.read_bytes(), "data/notes.txt", b"added later\n")
    result = _run_documented(reviewer_folder(tampered, public_key.read_bytes()))
    assert result.returncode != 0
    assert "data/notes.txt" in result.stdout


def test_the_documented_commands_catch_a_removed_file(
    signed_pack: tuple[Path, Path],
    reviewer_folder: Callable[[bytes, bytes], Path],
    rewrite: Callable[[bytes, str, bytes | None], bytes],
) -> None:
    pack, public_key = signed_pack
    tampered = rewrite(pack.read_bytes(), "case.json", None)
    result = _run_documented(reviewer_folder(tampered, public_key.read_bytes()))
    assert result.returncode != 0
    assert "case.json" in result.stdout + result.stderr


def test_the_documented_commands_refuse_another_signers_key(
    signed_pack: tuple[Path, Path],
    reviewer_folder: Callable[[bytes, bytes], Path],
    tmp_path: Path,
) -> None:
    pack, _ = signed_pack
    stranger = generate_keypair(tmp_path / "stranger").public_key.read_bytes()
    result = _run_documented(reviewer_folder(pack.read_bytes(), stranger))
    assert result.returncode != 0
    assert "Signature Verification Failure" in result.stdout + result.stderr


def test_the_documented_commands_refuse_a_manifest_re_signed_by_someone_else(
    signed_pack: tuple[Path, Path],
    reviewer_folder: Callable[[bytes, bytes], Path],
    rewrite: Callable[[bytes, str, bytes | None], bytes],
    tmp_path: Path,
) -> None:
    """Editing a file and its manifest entry, then re-signing, fails against the trusted key."""
    pack, public_key = signed_pack
    attacker = load_private_key(generate_keypair(tmp_path / "attacker").private_key)
    with zipfile.ZipFile(pack) as archive:
        manifest = archive.read("manifest.json").replace(b'"creator": "', b'"creator": "not ', 1)
    step = rewrite(pack.read_bytes(), "manifest.json", manifest)
    tampered = rewrite(step, "manifest.sig", attacker.sign(manifest))
    result = _run_documented(reviewer_folder(tampered, public_key.read_bytes()))
    assert result.returncode != 0
    assert "Signature Verification Failure" in result.stdout + result.stderr


def test_the_openssl_fingerprint_recipe_matches_mmsurvs(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    pair = generate_keypair(tmp_path / "k")
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(pair.public_key), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    assert pair.fingerprint == "SHA256:" + hashlib.sha256(der[-32:]).hexdigest()


def test_the_documented_audit_check_recomputes_the_stores_hashes(
    world: Any, tmp_path: Path
) -> None:
    from surveillance.cases import CaseStore
    from surveillance.evidence.store import export_case

    pack = tmp_path / "case.zip"
    with CaseStore(world.settings.db_url) as store:
        reviewer = store.get_user("rita")
        export_case(
            world.settings, store, reviewer, world.case_id, pack, signing_key=world.keys.private_key
        )
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(folder)
    script = _block_after("### Checking the audit entries")
    result = subprocess.run(
        ["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.split("\n")
    assert lines[0].endswith(" ok") and "MISMATCH" not in result.stdout


def test_the_documented_audit_check_detects_an_edited_entry(world: Any, tmp_path: Path) -> None:
    from surveillance.cases import CaseStore
    from surveillance.evidence.store import export_case

    pack = tmp_path / "case.zip"
    with CaseStore(world.settings.db_url) as store:
        export_case(
            world.settings,
            store,
            store.get_user("rita"),
            world.case_id,
            pack,
            signing_key=world.keys.private_key,
        )
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(folder)
    audit = folder / "audit.jsonl"
    audit.write_text(audit.read_text().replace('"actor":"', '"actor":"x', 1))
    script = _block_after("### Checking the audit entries")
    result = subprocess.run(
        ["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "MISMATCH" in result.stdout
