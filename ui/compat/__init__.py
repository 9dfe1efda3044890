"""Shims into gradio's private parts, each checked against the gradio version it was verified on."""
