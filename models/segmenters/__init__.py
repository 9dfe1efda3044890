"""Video segmenters: a detector finds objects on keyframes, SAM 2 follows their masks.

Each module registers itself with :func:`models.register` under kind ``"segmenter"``.
"""
