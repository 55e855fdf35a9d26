"""Ed25519 signing keys for evidence packs: generation, loading and fingerprints.

A pack is signed with the operator's private key and verified, possibly years later
and by someone outside the firm, with the matching public key. Keys are PEM files so
standard tools read them (``openssl pkey -in KEY``); the private key is written with
mode 0600 and, when ``MMSURV_SIGNING_KEY_PASSPHRASE`` is set, encrypted with it.

The fingerprint is ``SHA256:`` followed by the hex SHA-256 of the raw 32-byte public
key, which a reviewer can recompute with
``openssl pkey -pubin -in pub.pem -outform DER | tail -c 32 | sha256sum``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from surveillance.errors import InputError

#: Path of the private key used to sign packs when no option names one.
ENV_SIGNING_KEY = "MMSURV_SIGNING_KEY"
#: Passphrase of an encrypted private key (and used to encrypt newly generated keys).
ENV_PASSPHRASE = "MMSURV_SIGNING_KEY_PASSPHRASE"

PRIVATE_KEY_FILE = "mmsurv-signing-key.pem"
PUBLIC_KEY_FILE = "mmsurv-signing-key.pub.pem"


@dataclass(frozen=True)
class KeyPair:
    """Where a generated key pair was written, and its fingerprint."""

    private_key: Path
    public_key: Path
    fingerprint: str


def _passphrase() -> bytes | None:
    value = os.environ.get(ENV_PASSPHRASE)
    return value.encode() if value else None


def generate_keypair(out_dir: str | Path, *, overwrite: bool = False) -> KeyPair:
    """Create a new Ed25519 key pair as PEM files in ``out_dir``.

    The private key file is created with mode 0600 from the start (never world-readable,
    not even briefly). Refuses to replace existing key files unless ``overwrite``:
    losing a signing key makes every pack signed with it unverifiable against a new one.

    Raises
    ------
    InputError
        If a key file already exists and ``overwrite`` is false.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / PRIVATE_KEY_FILE
    public_path = folder / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists() and not overwrite:
            raise InputError(
                f"key file {path} already exists; keep it (packs signed with it need its "
                "public key) or pass --force to replace it"
            )
    key = Ed25519PrivateKey.generate()
    passphrase = _passphrase()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    if private_path.exists():
        private_path.unlink()
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    os.chmod(private_path, 0o600)  # the umask may have narrowed it further; never widen
    public_path.write_bytes(public_pem(key.public_key()))
    return KeyPair(private_path, public_path, fingerprint(key.public_key()))


def public_pem(key: Ed25519PublicKey) -> bytes:
    """The public key as a SubjectPublicKeyInfo PEM (what ``openssl pkey -pubin`` reads)."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(key: Ed25519PublicKey) -> str:
    """``SHA256:<hex>`` of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Read an Ed25519 private key PEM (encrypted if the passphrase variable is set).

    Raises
    ------
    InputError
        If the file is missing, unreadable as a PEM private key, encrypted without the
        passphrase, or not an Ed25519 key.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(
            f"signing key {file}: cannot be read ({exc.strerror}); create one with "
            f"`mmsurv keys generate --out DIR` and pass --signing-key or set {ENV_SIGNING_KEY}"
        ) from exc
    try:
        key = serialization.load_pem_private_key(data, password=_passphrase())
    except TypeError as exc:
        raise InputError(
            f"signing key {file}: {exc}; set {ENV_PASSPHRASE} to the key's passphrase"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(
            f"signing key {file}: not a PEM private key ({exc}); expected the "
            f"{PRIVATE_KEY_FILE} written by `mmsurv keys generate`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"signing key {file}: expected an Ed25519 key, found {type(key).__name__}; "
            "create one with `mmsurv keys generate --out DIR`"
        )
    return key


def load_public_key(data: bytes, source: str) -> Ed25519PublicKey:
    """Parse an Ed25519 public key PEM.

    Raises
    ------
    InputError
        If ``data`` is not a PEM public key or not Ed25519; the message names ``source``.
    """
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(
            f"public key {source}: not a PEM public key ({exc}); expected the "
            f"{PUBLIC_KEY_FILE} written by `mmsurv keys generate`"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(
            f"public key {source}: expected an Ed25519 key, found {type(key).__name__}"
        )
    return key


def resolve_signing_key(option: str | Path | None) -> Path:
    """The signing key path: the option, else ``MMSURV_SIGNING_KEY``.

    Raises
    ------
    InputError
        If neither names a key.
    """
    value = option or os.environ.get(ENV_SIGNING_KEY)
    if not value:
        raise InputError(
            "no signing key: evidence packs must be signed. Create a key pair with "
            f"`mmsurv keys generate --out DIR`, then pass --signing-key DIR/{PRIVATE_KEY_FILE} "
            f"or set {ENV_SIGNING_KEY}"
        )
    return Path(value)
