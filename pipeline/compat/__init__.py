"""Shims into private internals of the pipeline's libraries (supervision, motmetrics).

Each module states the one version it was verified against and checks it at
import with :func:`models.compat.require_version`, as the model shims in
:mod:`models.compat` do.
"""
