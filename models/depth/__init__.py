"""Monocular depth estimators, one module per model; each registers itself."""
