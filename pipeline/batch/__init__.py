"""Batch runs: one kind of run over many videos, on this machine or a Ray cluster.

:mod:`~pipeline.batch.inputs` expands the inputs, :mod:`~pipeline.batch.work`
plans each video's folder and processes one video, :mod:`~pipeline.batch.manifest`
records each result as it comes (:mod:`~pipeline.batch.outcome` counts them),
:mod:`~pipeline.batch.local` runs the plan here
and :mod:`~pipeline.batch.ray_runner` on Ray actors. ``python -m pipeline batch``
(:mod:`pipeline.cli.batch`) puts them together.
"""
