"""The REST API beside the Gradio app: the original service's routes, on the same job store."""

from ui.rest.app import build_rest_app

__all__ = ["build_rest_app"]
