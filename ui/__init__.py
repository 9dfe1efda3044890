"""The Gradio user interface: the only layer that imports gradio.

It turns a request into one ``DetectionConfig``, calls the pipeline, turns its
events into component updates and its errors into ``gr.Error``.
"""

from ui.app import build_demo

__all__ = ["build_demo"]
