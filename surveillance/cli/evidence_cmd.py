"""``mmsurv evidence export|verify`` and ``mmsurv keys generate``: signed evidence packs.

Exporting acts as a signed-in user (``--user`` / ``MMSURV_USER``, password from
``MMSURV_PASSWORD`` or a prompt) whose role may export (reviewer, supervisor, admin),
and is recorded in the audit trail. Packs are signed with the Ed25519 key named by
``--signing-key`` or ``MMSURV_SIGNING_KEY``; ``mmsurv keys generate`` creates one.
Verification needs no sign-in and no case store: only the pack and, to prove who
signed it, the signer's public key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from surveillance import settings as settings_module
from surveillance.cli.cases_cmd import UserOption, open_store, sign_in
from surveillance.cli.options import ConfigOption, DbOption, LakeOption
from surveillance.days import parse_day
from surveillance.errors import InputError, SurveillanceError
from surveillance.evidence.keys import ENV_SIGNING_KEY, generate_keypair, resolve_signing_key

SigningKeyOption = Annotated[
    str | None,
    typer.Option(
        "--signing-key",
        envvar=ENV_SIGNING_KEY,
        help="Ed25519 private key (PEM) that signs the pack; `mmsurv keys generate` makes one.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``evidence`` and ``keys`` command groups to ``app``."""
    evidence = typer.Typer(help="Signed evidence packs for reviewers.", no_args_is_help=True)
    keys = typer.Typer(help="Signing keys for evidence packs.", no_args_is_help=True)
    app.add_typer(evidence, name="evidence")
    app.add_typer(keys, name="keys")

    @evidence.command("export")
    def export(
        out: Annotated[Path, typer.Option("--out", help="The pack to write (.zip).")],
        case_id: Annotated[
            int | None, typer.Option("--case", help="Export this case.", show_default=False)
        ] = None,
        entity: Annotated[
            str | None,
            typer.Option("--entity", help="Export every case of this entity in the period."),
        ] = None,
        first: Annotated[
            str | None, typer.Option("--from", help="First UTC day of the period, YYYY-MM-DD.")
        ] = None,
        last: Annotated[
            str | None, typer.Option("--to", help="Last UTC day of the period, YYYY-MM-DD.")
        ] = None,
        signing_key: SigningKeyOption = None,
        user: UserOption = None,
        lake: LakeOption = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Write a signed evidence pack of one case (--case) or of an entity's cases in a
        period (--entity --from --to), and record the export in the audit trail."""
        from surveillance.evidence.store import export_case, export_entity

        if (case_id is None) == (entity is None):
            raise InputError("pass either --case ID or --entity E --from D1 --to D2 (not both)")
        if entity is not None and (first is None or last is None):
            raise InputError("--entity needs --from D1 and --to D2 (UTC days, YYYY-MM-DD)")
        key_path = resolve_signing_key(signing_key)
        settings = settings_module.resolve(lake=lake, db_url=db, config=config)
        with open_store(lake, db, config) as store:
            actor = sign_in(store, user)
            if case_id is not None:
                result = export_case(settings, store, actor, case_id, out, signing_key=key_path)
            else:
                assert entity is not None and first is not None and last is not None
                result = export_entity(
                    settings,
                    store,
                    actor,
                    entity,
                    parse_day(first),
                    parse_day(last),
                    out,
                    signing_key=key_path,
                )
        typer.echo(
            f"wrote {result.path} ({len(result.case_ids)} case(s), {result.files} files, "
            f"manifest SHA-256 {result.manifest_sha256})"
        )
        typer.echo(f"signed by {result.manifest['signature']['public_key_fingerprint']}")
        for note in result.absent:
            typer.echo(f"  absent: {note}")

    @evidence.command("verify")
    def verify(
        pack: Annotated[Path, typer.Argument(help="The evidence pack (.zip) to check.")],
        public_key: Annotated[
            Path | None,
            typer.Option(
                "--public-key",
                help="The signer's public key (PEM), obtained apart from the pack. Without it "
                "the key inside the pack is used: that proves integrity, not authorship.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Recompute every file's SHA-256 and check the manifest's Ed25519 signature.

        Exit 0 when the pack is intact; exit 1 naming each changed, missing or added
        file, or the bad signature or key.
        """
        from surveillance.evidence.container import verify_pack

        result = verify_pack(pack, public_key)
        if not result.ok:
            for problem in result.problems:
                typer.echo(f"FAIL {problem.file}: {problem.detail}", err=True)
            first_problem = result.problems[0]
            raise SurveillanceError(
                f"evidence pack {pack} failed verification ({len(result.problems)} problem(s)); "
                f"first: {first_problem.file}: {first_problem.detail}",
                reason="pack_tampered",
            )
        manifest = result.manifest or {}
        typer.echo(
            f"OK {pack}: {result.files_checked} files match manifest.json; Ed25519 signature "
            f"valid for key {result.key_fingerprint} ({result.key_source})"
        )
        typer.echo(
            f"created {manifest.get('created_at')} by {manifest.get('creator')} with "
            f"mm-surveillance {manifest.get('software', {}).get('version')}"
        )
        if public_key is None:
            typer.echo(
                "warning: checked against the key inside the pack; pass --public-key with the "
                "signer's published key to prove who signed it",
                err=True,
            )

    @keys.command("generate")
    def generate(
        out: Annotated[Path, typer.Option("--out", help="Folder for the two PEM files.")],
        force: Annotated[
            bool, typer.Option("--force", help="Replace key files that already exist.")
        ] = False,
    ) -> None:
        """Create an Ed25519 key pair for signing evidence packs.

        The private key is written with mode 0600 (encrypted when
        MMSURV_SIGNING_KEY_PASSPHRASE is set); publish the public key to reviewers.
        """
        pair = generate_keypair(out, overwrite=force)
        typer.echo(f"private key {pair.private_key} (mode 0600; keep it secret)")
        typer.echo(f"public key  {pair.public_key} (give it to reviewers)")
        typer.echo(f"fingerprint {pair.fingerprint}")
        typer.echo(f"sign packs with: export {ENV_SIGNING_KEY}={pair.private_key}")
