"""Features of the affiliated market maker's behaviour against client flow."""
