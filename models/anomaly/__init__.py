"""Anomaly models: behaviour against own history, time of day and peers."""
