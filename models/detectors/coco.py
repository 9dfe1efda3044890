"""COCO's 80 detection classes, the vocabulary of every COCO-trained detector here."""

from __future__ import annotations

#: The classes in their contiguous order (0 = person), as the transformers checkpoints name
#: them (``id2label`` from ``huggingface/label-files`` coco-detection-mmdet-id2label.json).
COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

#: Where the darknet (VOC-style) spellings differ, which exports of darknet-era models ship.
DARKNET_SPELLINGS = {
    "motorcycle": "motorbike",
    "airplane": "aeroplane",
    "couch": "sofa",
    "potted plant": "pottedplant",
    "dining table": "diningtable",
    "tv": "tvmonitor",
}


def darknet_classes() -> tuple[str, ...]:
    """COCO's classes in the same order, with the darknet spellings.

    Example:
        >>> darknet_classes()[:5]
        ('person', 'bicycle', 'car', 'motorbike', 'aeroplane')
    """
    return tuple(DARKNET_SPELLINGS.get(name, name) for name in COCO_CLASSES)
