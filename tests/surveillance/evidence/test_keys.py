"""Signing keys: created safely, loaded with clear errors, resolved from option or env."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveillance.errors import InputError
from surveillance.evidence.keys import (
    ENV_PASSPHRASE,
    ENV_SIGNING_KEY,
    generate_keypair,
    load_private_key,
    resolve_signing_key,
)


def test_a_passphrase_encrypts_the_private_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_PASSPHRASE, "correct horse battery staple")
    pair = generate_keypair(tmp_path)
    assert b"ENCRYPTED PRIVATE KEY" in pair.private_key.read_bytes()
    assert load_private_key(pair.private_key).public_key() is not None


def test_an_encrypted_key_without_its_passphrase_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_PASSPHRASE, "correct horse battery staple")
    pair = generate_keypair(tmp_path)
    monkeypatch.delenv(ENV_PASSPHRASE)
    with pytest.raises(InputError, match=ENV_PASSPHRASE):
        load_private_key(pair.private_key)


def test_a_file_that_is_not_a_key_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "key.pem"
    bogus.write_text("not a key")
    with pytest.raises(InputError, match=r"key\.pem: not a PEM private key"):
        load_private_key(bogus)


def test_the_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SIGNING_KEY, "/from/env.pem")
    assert resolve_signing_key("/from/option.pem") == Path("/from/option.pem")
    assert resolve_signing_key(None) == Path("/from/env.pem")


def test_no_key_at_all_says_how_to_make_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_SIGNING_KEY, raising=False)
    with pytest.raises(InputError, match="mmsurv keys generate"):
        resolve_signing_key(None)


def test_force_replaces_a_key_pair(tmp_path: Path) -> None:
    first = generate_keypair(tmp_path)
    second = generate_keypair(tmp_path, overwrite=True)
    assert first.fingerprint != second.fingerprint
    assert load_private_key(second.private_key).public_key() is not None
