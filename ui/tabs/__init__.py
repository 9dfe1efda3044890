"""One module per tab, each built the same way.

Every tab module has: ``INTRO`` (the text above it), ``build_*_config`` (a
request's values to the task's config, or a ``gr.Error``), a ``*Handlers``
class (its Run, First frame and Stop handlers, on :class:`ui.streaming.TabHandlers`)
and ``build_*_tab`` (the layout and wiring, which registers its API endpoints).
"""
