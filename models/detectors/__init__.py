"""Object detectors, one module per model; each registers itself."""
