"""Video pipeline: decode, detect, track, annotate, encode. Never imports gradio."""
