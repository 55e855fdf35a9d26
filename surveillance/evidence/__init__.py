"""Evidence packs and the independent review report (see ``docs/evidence.md``).

Public API, by module (imported from there; this package imports nothing eagerly so
that verifying a pack never loads the case store or the book engine):

- ``surveillance.evidence.store``: :func:`export_case`, :func:`export_entity` (the
  CLI, the web app and the demo export through these: permission check, pack, audit
  event) and :func:`review_cases`;
- ``surveillance.evidence.pack``: :func:`build_pack` from plain :class:`CaseEvidence`
  records, returning :class:`PackResult`;
- ``surveillance.evidence.container``: :func:`verify_pack` -> :class:`Verification`,
  :func:`write_pack`, the manifest format;
- ``surveillance.evidence.keys``: :func:`generate_keypair`, :func:`load_private_key`,
  :func:`fingerprint`, :func:`resolve_signing_key` (``MMSURV_SIGNING_KEY``);
- ``surveillance.evidence.review``: :func:`write_review`, :func:`review_metrics`;
- ``surveillance.evidence.charts``: the inline SVG charts.
"""
