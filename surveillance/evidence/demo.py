"""The demo's evidence step: a key pair, a signed pack of one case, verified; the review report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from surveillance import storage
from surveillance.contract import Accounts, Role
from surveillance.evidence.container import verify_pack
from surveillance.evidence.keys import (
    PRIVATE_KEY_FILE,
    PUBLIC_KEY_FILE,
    fingerprint,
    generate_keypair,
    load_private_key,
)
from surveillance.evidence.review import write_review
from surveillance.settings import Settings

DEMO_REVIEWER = "reviewer"


def _output_root(settings: Settings) -> Path:
    """Beside the lake (``./mmsurv-data``) when it is local, else the working directory."""
    if storage.is_local(settings.lake_uri):
        return Path(storage.filesystem(settings.lake_uri)[1]).parent
    return Path.cwd() / "mmsurv-data"


def _amm_entity(settings: Settings, day: dt.date) -> str | None:
    uri = settings.lake.curated(Accounts.name, day)
    if not storage.exists(uri):
        return None
    accounts = storage.read_table(uri).to_pandas()
    entities = sorted(
        set(accounts.loc[accounts[Accounts.role] == Role.AFFILIATED_MM.value, Accounts.entity_id])
    )
    return entities[0] if entities else None


def demo_step(settings: Settings, day: dt.date) -> None:
    """Create a key pair, export and verify the top case's pack, write the review report."""
    from surveillance.cases import CaseFilter, CaseStore
    from surveillance.evidence.store import (
        export_case,
        review_alert_dispositions,
        review_cases,
    )

    root = _output_root(settings)
    key_dir = root / "keys"
    if (key_dir / PRIVATE_KEY_FILE).exists():
        key = load_private_key(key_dir / PRIVATE_KEY_FILE)
        print(f"  signing key {key_dir / PRIVATE_KEY_FILE} ({fingerprint(key.public_key())})")
    else:
        pair = generate_keypair(key_dir)
        print(f"  created key pair in {key_dir} ({pair.fingerprint})")
    public_key = key_dir / PUBLIC_KEY_FILE
    with CaseStore.from_settings(settings) as store:
        reviewer = store.get_user(DEMO_REVIEWER)
        page = store.list_cases(CaseFilter(date_from=day, date_to=day), limit=1)
        if page.items:
            case = page.items[0]
            out = root / "evidence" / f"case-{case.id}.zip"
            result = export_case(
                settings, store, reviewer, case.id, out, signing_key=key_dir / PRIVATE_KEY_FILE
            )
            print(
                f"  exported case {case.id} ({case.typology}, {case.severity}) as {reviewer.username}"
                f" to {out}: {result.files} files, manifest SHA-256 {result.manifest_sha256[:16]}…"
            )
            check = verify_pack(out, public_key)
            state = "OK" if check.ok else "FAILED: " + "; ".join(map(str, check.problems))
            print(
                f"  verify: {state} ({check.files_checked} files, signature by {public_key.name})"
            )
            print(f"  try: mmsurv evidence verify {out} --public-key {public_key}")
        else:
            print(f"  no case on {day}: nothing to export")
        entity = _amm_entity(settings, day)
        if entity is None:
            print("  no affiliated market maker in the accounts reference data: no review report")
            return
        cases = review_cases(store, entity, day, day)
        dispositions = review_alert_dispositions(store, entity, day, day)
    review = write_review(
        settings,
        entity,
        day,
        day,
        root / "reports" / f"review-{entity}-{day}.html",
        cases=cases,
        alert_dispositions=dispositions,
        creator=DEMO_REVIEWER,
    )
    breaches = sum(1 for o in review.metrics.obligations if o["met"] == "BREACHED")
    print(
        f"  review report for {entity} on {day}: {review.path} "
        f"({len(review.metrics.obligations)} symbol(s), {breaches} obligation breach(es), "
        f"{len(review.metrics.alerts)} alert(s), {review.cases} case(s))"
    )
