"""One module per tab, each built the same way.

Every tab module has: ``INTRO`` (the text above it), ``build_*_config`` (a
request's values to the task's config, or a ``gr.Error``), a ``*Handlers``
class (its Run, First frame and Stop handlers, on :class:`ui.streaming.TabHandlers`)
and ``build_*_tab`` (the layout and wiring, which registers its API endpoints).

Every ``build_*_tab`` adds its tab to the current ``gr.Tabs``, wires its events
(which registers its API endpoints) and is called alike,
``build_*_tab(handlers, examples=())``:

- ``handlers``: the tab's handlers, e.g. ``DepthHandlers(settings)``; tests
  build them with their own settings, store or models.
- ``examples``: example videos offered under the upload box (not the Live tab's:
  its input is the camera).

Each lays itself out in :func:`ui.layout.tab_page`: its ``INTRO``, then its
settings and its outputs side by side (one above the other on a phone).
"""
