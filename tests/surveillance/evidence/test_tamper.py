"""A pack that was changed in any way after signing fails verification, naming the file."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from surveillance.errors import SurveillanceError
from surveillance.evidence.container import verify_pack, write_pack
from surveillance.evidence.keys import generate_keypair, load_private_key

Rewrite = Callable[[bytes, str, bytes | None], bytes]
Tamper = Callable[[Path, str, bytes | None], Path]


@pytest.fixture
def pack(signed_pack: tuple[Path, Path]) -> tuple[Path, Path]:
    """The module's signed pack and the signer's public key."""
    return signed_pack


@pytest.fixture
def tamper(rewrite: Rewrite, tmp_path: Path) -> Callable[[Path, str, bytes | None], Path]:
    """Writes a copy of a pack with one member replaced, added or removed."""

    def run(pack: Path, name: str, data: bytes | None) -> Path:
        out = tmp_path / f"tampered-{len(list(tmp_path.iterdir()))}.zip"
        out.write_bytes(rewrite(pack.read_bytes(), name, data))
        return out

    return run


def test_an_untouched_pack_verifies_against_the_signers_key(pack: tuple[Path, Path]) -> None:
    zip_path, public_key = pack
    result = verify_pack(zip_path, public_key)
    assert result.ok, result.problems
    assert result.files_checked >= 20


@pytest.mark.parametrize(
    "member",
    [
        "report.html",
        "data/orders.parquet",
        "data/trades.csv",
        "data/alert_features.parquet",
        "data/index.json",
        "case.json",
        "audit.jsonl",
        "config/effective.json",
        "config/detectors.json",
        "lineage.json",
        "public_key.pem",
    ],
)
def test_one_changed_byte_in_any_file_is_named(
    pack: tuple[Path, Path], tamper: Tamper, member: str
) -> None:
    zip_path, public_key = pack
    with zipfile.ZipFile(zip_path) as archive:
        data = bytearray(archive.read(member))
    data[len(data) // 2] ^= 0x01
    result = verify_pack(tamper(zip_path, member, bytes(data)), public_key)
    assert not result.ok
    assert any(p.file == member and p.kind == "changed" for p in result.problems)


def test_a_changed_manifest_breaks_the_signature(
    pack: tuple[Path, Path], tamper: Tamper, tmp_path: Path
) -> None:
    zip_path, public_key = pack
    with zipfile.ZipFile(zip_path) as archive:
        manifest = archive.read("manifest.json")
    edited = manifest.replace(b'"creator": "', b'"creator": "x', 1)
    result = verify_pack(tamper(zip_path, "manifest.json", edited), public_key)
    assert [(p.file, p.kind) for p in result.problems] == [("manifest.sig", "signature")]


def test_a_deleted_file_is_named(pack: tuple[Path, Path], tamper: Tamper, tmp_path: Path) -> None:
    zip_path, public_key = pack
    result = verify_pack(tamper(zip_path, "data/trades.parquet", None), public_key)
    assert [(p.file, p.kind) for p in result.problems] == [("data/trades.parquet", "missing")]


def test_an_added_file_is_named(pack: tuple[Path, Path], tamper: Tamper, tmp_path: Path) -> None:
    zip_path, public_key = pack
    out = tamper(zip_path, "data/extra.csv", b"a,b\n1,2\n")
    result = verify_pack(out, public_key)
    assert [(p.file, p.kind) for p in result.problems] == [("data/extra.csv", "added")]


def test_a_signature_by_another_key_is_refused(
    pack: tuple[Path, Path], tamper: Tamper, tmp_path: Path
) -> None:
    zip_path, public_key = pack
    other = load_private_key(generate_keypair(tmp_path / "other").private_key)
    with zipfile.ZipFile(zip_path) as archive:
        manifest = archive.read("manifest.json")
    out = tamper(zip_path, "manifest.sig", other.sign(manifest))
    result = verify_pack(out, public_key)
    assert [(p.file, p.kind) for p in result.problems] == [("manifest.sig", "signature")]


def test_a_swapped_public_key_is_refused_even_without_a_trusted_key(
    pack: tuple[Path, Path], tamper: Tamper, tmp_path: Path
) -> None:
    """An attacker who re-signs with their own key and ships it still fails the fingerprint."""
    zip_path, _ = pack
    pair = generate_keypair(tmp_path / "attacker")
    attacker = load_private_key(pair.private_key)
    with zipfile.ZipFile(zip_path) as archive:
        manifest = archive.read("manifest.json")
    step = tamper(zip_path, "public_key.pem", pair.public_key.read_bytes())
    out = tamper(step, "manifest.sig", attacker.sign(manifest))
    result = verify_pack(out)
    assert {(p.file, p.kind) for p in result.problems} >= {
        ("public_key.pem", "changed"),
        ("public_key.pem", "key"),
    }


def test_a_pack_checked_against_another_trusted_key_fails(
    pack: tuple[Path, Path], tamper: Tamper, tmp_path: Path
) -> None:
    zip_path, _ = pack
    stranger = generate_keypair(tmp_path / "stranger").public_key
    result = verify_pack(zip_path, stranger)
    assert {p.kind for p in result.problems} == {"key", "signature"}
    assert any(p.file == str(stranger) for p in result.problems)


def test_a_flipped_byte_in_the_zip_itself_is_named(
    pack: tuple[Path, Path], tamper: Tamper, tmp_path: Path
) -> None:
    zip_path, public_key = pack
    raw = bytearray(zip_path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as archive:
        info = archive.getinfo("case.json")
    # Inside case.json's compressed data: past its local header (30 bytes + name).
    raw[info.header_offset + 30 + len("case.json") + 5] ^= 0xFF
    out = tmp_path / "flipped.zip"
    out.write_bytes(bytes(raw))
    result = verify_pack(out, public_key)
    assert any(p.file == "case.json" for p in result.problems)


def test_a_file_that_is_not_a_zip_is_a_failure(tmp_path: Path) -> None:
    bogus = tmp_path / "pack.zip"
    bogus.write_bytes(b"not a zip at all")
    with pytest.raises(SurveillanceError, match=r"pack\.zip: cannot be opened as a zip"):
        verify_pack(bogus)


def test_packing_refuses_reserved_member_names(tmp_path: Path) -> None:
    key = load_private_key(generate_keypair(tmp_path / "k").private_key)
    with pytest.raises(ValueError, match="reserved"):
        write_pack(
            tmp_path / "p.zip",
            {"manifest.json": b"{}"},
            private_key=key,
            creator="x",
            created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            scope={},
        )
