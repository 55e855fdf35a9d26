"""Rule detectors and anomaly models that turn features into alerts."""
