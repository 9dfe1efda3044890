"""One module per tab, each built the same way.

Every tab module has: ``INTRO`` (the text above it), ``build_*_config`` (a
request's values to the task's config, or a ``gr.Error``), a ``*Handlers``
class (its Run, First frame and Stop handlers, on :class:`ui.streaming.TabHandlers`)
and ``build_*_tab`` (the layout and wiring, which registers its API endpoints).

Every ``build_*_tab`` adds its tab to the current ``gr.Tabs`` and is called
alike, ``build_*_tab(settings=None, *, handlers=None, examples=())``:

- ``settings``: deployment settings; read from the environment when None.
- ``handlers``: the tab's handlers (built from ``settings`` when None).
- ``examples``: example videos offered under the upload box (not the Live tab's:
  its input is the camera).

It returns the handlers, e.g. for tests.
"""
