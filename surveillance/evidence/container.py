"""The signed container of an evidence pack: deterministic zip, manifest, signature, checks.

A pack is a zip whose members are the evidence files, ``manifest.json`` (each file's
SHA-256 and size plus who made the pack, when, with which software and key) and
``manifest.sig`` (a raw 64-byte Ed25519 signature over the exact bytes of
``manifest.json``). The manifest is the single thing signed; every other file is bound
to it by its hash. A reviewer can therefore check a pack with ``sha256sum`` and
``openssl`` alone (``docs/evidence.md``), and :func:`verify_pack` does the same checks.

Zip members are written in a fixed order with a fixed timestamp, permissions and
compression level, so the same files always give the same member bytes: two exports
of one case differ only where the content truly differs (creation time, audit trail).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from surveillance import __version__
from surveillance.errors import InputError, SurveillanceError
from surveillance.evidence.keys import fingerprint, load_public_key, public_pem

FORMAT_NAME = "mmsurv-evidence-pack"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
#: Members that the manifest cannot list (the manifest itself and its signature).
UNLISTED = frozenset({MANIFEST, SIGNATURE})
#: Zip's earliest representable time: fixed so member headers never vary.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """Stable JSON bytes: sorted keys, two-space indent, UTF-8, trailing newline."""
    text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=str)
    return (text + "\n").encode("utf-8")


def _check_member_name(name: str) -> None:
    normal = posixpath.normpath(name)
    if (
        not name
        or name.startswith("/")
        or normal != name
        or normal.startswith("../")
        or normal == ".."
        or "\\" in name
    ):
        raise ValueError(f"pack member name {name!r} must be a relative POSIX path")


def build_manifest(
    files: Mapping[str, bytes],
    *,
    public_key: Ed25519PublicKey,
    creator: str,
    created_at: dt.datetime,
    scope: Mapping[str, Any],
) -> dict[str, Any]:
    """The manifest of ``files`` (which must already include ``public_key.pem``)."""
    entries = [
        {"path": name, "sha256": sha256_hex(data), "size": len(data)}
        for name, data in sorted(files.items())
    ]
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "software": {"name": "mm-surveillance", "version": __version__},
        "created_at": created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "creator": creator,
        "scope": dict(scope),
        "signature": {
            "algorithm": "Ed25519",
            "signed_file": MANIFEST,
            "signature_file": SIGNATURE,
            "public_key_file": PUBLIC_KEY,
            "public_key_fingerprint": fingerprint(public_key),
        },
        "files": entries,
    }


def write_pack(
    out: str | Path,
    files: Mapping[str, bytes],
    *,
    private_key: Ed25519PrivateKey,
    creator: str,
    created_at: dt.datetime,
    scope: Mapping[str, Any],
) -> dict[str, Any]:
    """Sign ``files`` and write them as a pack zip at ``out``; returns the manifest.

    The zip is written beside ``out`` under a temporary name and renamed into place, so
    a failure never leaves a half-written pack that looks like a real one.
    """
    members = dict(files)
    for name in members:
        _check_member_name(name)
        if name in UNLISTED or name == PUBLIC_KEY:
            raise ValueError(f"pack member {name!r} is reserved for the signature")
    members[PUBLIC_KEY] = public_pem(private_key.public_key())
    manifest = build_manifest(
        members,
        public_key=private_key.public_key(),
        creator=creator,
        created_at=created_at,
        scope=scope,
    )
    manifest_bytes = canonical_json(manifest)
    signature = private_key.sign(manifest_bytes)
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(members):
            _write_member(archive, name, members[name])
        _write_member(archive, MANIFEST, manifest_bytes)
        _write_member(archive, SIGNATURE, signature)
    partial.replace(target)
    return manifest


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, so the permission bits below mean the same everywhere
    info.external_attr = 0o100644 << 16
    archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)


@dataclass(frozen=True)
class Problem:
    """One reason a pack fails verification, naming the file concerned."""

    file: str
    kind: str  # changed | missing | added | signature | key | manifest | unreadable
    detail: str

    def __str__(self) -> str:
        return f"{self.file}: {self.detail}"


@dataclass
class Verification:
    """The outcome of :func:`verify_pack`."""

    pack: str
    problems: list[Problem] = field(default_factory=list)
    manifest: dict[str, Any] | None = None
    files_checked: int = 0
    key_source: str = ""
    key_fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_pack(pack: str | Path, public_key: str | Path | None = None) -> Verification:
    """Recompute every hash of a pack and check its signature.

    With ``public_key`` (a PEM file the reviewer trusts, obtained apart from the pack)
    the signature is checked against that key and the manifest's fingerprint must be
    its fingerprint: this proves who made the pack. Without it, the key shipped inside
    the pack is used, which proves the pack is intact and self-consistent but not who
    signed it; :attr:`Verification.key_source` says which was used.

    Every problem is collected (not just the first), each naming its file.

    Raises
    ------
    SurveillanceError
        If ``pack`` is not a readable zip file at all.
    InputError
        If ``public_key`` cannot be read as an Ed25519 public key.
    """
    path = Path(pack)
    result = Verification(str(path))
    trusted: Ed25519PublicKey | None = None
    if public_key is not None:
        key_path = Path(public_key)
        try:
            key_data = key_path.read_bytes()
        except OSError as exc:
            raise InputError(f"public key {key_path}: cannot be read ({exc.strerror})") from exc
        trusted = load_public_key(key_data, str(key_path))
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise SurveillanceError(
            f"evidence pack {path}: cannot be opened as a zip ({exc}); "
            "it is not a pack or it is truncated"
        ) from exc
    with archive:
        contents, names = _read_members(archive, result)
    manifest = _parse_manifest(contents, result)
    if manifest is None:
        return result
    result.manifest = manifest
    _check_files(manifest, contents, names, result)
    _check_signature(manifest, contents, trusted, public_key, result)
    return result


def _read_members(
    archive: zipfile.ZipFile, result: Verification
) -> tuple[dict[str, bytes], list[str]]:
    contents: dict[str, bytes] = {}
    names = [i.filename for i in archive.infolist() if not i.is_dir()]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            result.problems.append(
                Problem(name, "added", "appears more than once in the zip (a second copy)")
            )
            continue
        seen.add(name)
        try:
            _check_member_name(name)
        except ValueError as exc:
            result.problems.append(Problem(name, "added", str(exc)))
            continue
        try:
            contents[name] = archive.read(name)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError) as exc:
            result.problems.append(
                Problem(name, "changed", f"cannot be read from the zip ({exc}): it was altered")
            )
    return contents, names


def _parse_manifest(contents: dict[str, bytes], result: Verification) -> dict[str, Any] | None:
    for required in (MANIFEST, SIGNATURE):
        if required not in contents and not any(p.file == required for p in result.problems):
            result.problems.append(Problem(required, "missing", "not in the pack"))
    if MANIFEST not in contents:
        return None
    try:
        manifest = json.loads(contents[MANIFEST].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.problems.append(Problem(MANIFEST, "manifest", f"not valid JSON ({exc})"))
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), list):
        result.problems.append(Problem(MANIFEST, "manifest", "has no 'files' list"))
        return None
    if manifest.get("format") != FORMAT_NAME or manifest.get("format_version") != FORMAT_VERSION:
        result.problems.append(
            Problem(
                MANIFEST,
                "manifest",
                f"format {manifest.get('format')!r} version {manifest.get('format_version')!r}"
                f" is not {FORMAT_NAME!r} version {FORMAT_VERSION}; use a matching mmsurv",
            )
        )
        return None
    return manifest


def _check_files(
    manifest: dict[str, Any],
    contents: dict[str, bytes],
    names: list[str],
    result: Verification,
) -> None:
    listed: dict[str, dict[str, Any]] = {}
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not {"path", "sha256", "size"} <= set(entry):
            result.problems.append(Problem(MANIFEST, "manifest", f"bad file entry {entry!r}"))
            continue
        listed[str(entry["path"])] = entry
    reported = {p.file for p in result.problems}
    for name, entry in sorted(listed.items()):
        if name not in contents:
            if name not in reported:
                result.problems.append(
                    Problem(name, "missing", "listed in the manifest but not in the pack")
                )
            continue
        data = contents[name]
        result.files_checked += 1
        digest = sha256_hex(data)
        if digest != entry["sha256"] or len(data) != entry["size"]:
            result.problems.append(
                Problem(
                    name,
                    "changed",
                    f"SHA-256 {digest} and size {len(data)} differ from the manifest's "
                    f"{entry['sha256']} and {entry['size']}: the file was altered",
                )
            )
    for name in sorted(set(names) - set(listed) - UNLISTED):
        if name not in reported:
            result.problems.append(
                Problem(name, "added", "in the pack but not listed in the manifest")
            )


def _check_signature(
    manifest: dict[str, Any],
    contents: dict[str, bytes],
    trusted: Ed25519PublicKey | None,
    public_key: str | Path | None,
    result: Verification,
) -> None:
    signature = contents.get(SIGNATURE)
    if signature is None:
        return
    expected = (manifest.get("signature") or {}).get("public_key_fingerprint")
    key = trusted
    if key is not None:
        result.key_source = f"trusted key {public_key}"
    else:
        result.key_source = f"the pack's own {PUBLIC_KEY} (integrity only: pass --public-key)"
        if PUBLIC_KEY not in contents:
            return  # reported as missing by the file check
        try:
            key = load_public_key(contents[PUBLIC_KEY], PUBLIC_KEY)
        except InputError as exc:
            result.problems.append(Problem(PUBLIC_KEY, "key", str(exc)))
            return
    result.key_fingerprint = fingerprint(key)
    if result.key_fingerprint != expected:
        culprit = str(public_key) if trusted is not None else PUBLIC_KEY
        result.problems.append(
            Problem(
                culprit,
                "key",
                f"key fingerprint {result.key_fingerprint} is not the manifest's {expected}: "
                "the pack was signed with another key",
            )
        )
    try:
        key.verify(signature, contents[MANIFEST])
    except InvalidSignature:
        result.problems.append(
            Problem(
                SIGNATURE,
                "signature",
                f"Ed25519 signature does not match {MANIFEST} under key {result.key_fingerprint}",
            )
        )


def read_member(pack: str | Path, name: str) -> bytes:
    """One member's bytes (for tools and tests that inspect a pack)."""
    with zipfile.ZipFile(pack) as archive:
        return archive.read(name)
