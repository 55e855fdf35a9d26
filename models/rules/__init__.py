"""Rule detectors: one per typology, in one registry (``models.rules.registry``)."""
