"""The SAM 2.1 sizes on offer, where their weights come from, and loading them (``transformers``).

Weights, first match wins (the rule is written once, in :func:`locate_weights`):

1. ``weights=`` (``--weights``);
2. the size's environment variable: ``SAM2_SMALL_WEIGHTS``,
   ``SAM2_BASE_PLUS_WEIGHTS``, ``SAM2_LARGE_WEIGHTS``;
3. Meta's checkpoint on the Hugging Face Hub,
   ``facebook/sam2.1-hiera-{small,base-plus,large}``, downloaded and cached by
   ``transformers``' ``from_pretrained``.

Each of these names one of:

- a local folder saved with ``save_pretrained`` (``config.json`` and
  ``model.safetensors``);
- a Hub id of such a checkpoint;
- an architecture with random weights (tests, benchmarks): ``random:small``,
  ``random:base_plus`` or ``random:large`` (the sizes' published architectures,
  :mod:`models.segmenters.sam2_architectures`), or a ``Sam2VideoConfig`` saved
  as a ``.json`` file.

The processor is built from the model's config (its input size) and SAM 2's
fixed ImageNet normalisation, so a checkpoint needs no processor files.
Whatever goes wrong while loading ends as
:class:`~models.errors.MissingWeightsError` (nothing to load) or
:class:`~models.errors.ModelError` (something that is not a SAM 2 video
checkpoint); a checkpoint that lacks any of the model's weights is refused
rather than completed with random ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from models.errors import MissingWeightsError, ModelError
from models.segmenters.processors import video_processor
from models.segmenters.sam2_architectures import (
    RANDOM_PREFIX,
    is_random_architecture,
    random_architecture,
    with_image_size,
)
from models.weights import (
    describe_failure,
    looks_like_path,
    missing_weights_error,
    resolve_weights,
)
from models.weights_sources import TRANSFORMERS_WEIGHT_FILES, HubRepo, WeightsLocation

#: ImageNet statistics, as SAM 2 normalises its input.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)
#: What ``from_pretrained`` reads from a folder or the Hub besides the weights.
REQUIRED_FILES = ("config.json",)
#: ``model_type`` of the configs a SAM 2 video checkpoint may have: the video
#: model's own, or the image model's (then the memory weights must be there too).
CHECKPOINT_TYPES = ("sam2_video", "sam2")


@dataclass(frozen=True)
class VideoModelFamily:
    """A family of SAM 2-style video models that ``transformers`` loads one way.

    SAM 2.1 and EdgeTAM share the processor, the inference session and the
    loading rules; they differ in these classes, names and architectures.

    Attributes:
        key: Key of the model's label in a segmenter's ``info()``, e.g. ``"sam2"``.
        name: Display name of the family, e.g. ``"SAM 2"``.
        model_class: ``transformers`` class of the video model.
        config_class: ``transformers`` class of its config.
        checkpoint_types: ``model_type`` of the configs a checkpoint of the family may have.
        random_architecture: ``random_architecture(weights, image_size=...)``: the
            config that ``random:<size>`` or a config file names.
        with_image_size: ``with_image_size(config, image_size)``: the config at
            another input size.
        example_hub_id: A Hub id to name where a wrong file was given.
        original_code: Whose ``.pt`` checkpoints are not loadable here, e.g.
            ``"Meta's sam2 package"``.
        packages: Python packages the model needs besides ``transformers``.
    """

    key: str
    name: str
    model_class: str
    config_class: str
    checkpoint_types: tuple[str, ...]
    random_architecture: Callable[..., Any]
    with_image_size: Callable[[Any, int], Any]
    example_hub_id: str
    original_code: str
    packages: tuple[str, ...] = ()

    def classes(self) -> tuple[Any, Any]:
        """The family's model and config classes.

        Raises:
            ModelError: The installed ``transformers`` lacks them, or a package
                the model needs is missing.
        """
        import transformers

        for package in self.packages:
            if find_spec(package) is None:
                raise ModelError(
                    f"{self.name} needs the {package} package, which is not installed: "
                    f"pip install -r requirements.txt"
                )
        model = getattr(transformers, self.model_class, None)
        config = getattr(transformers, self.config_class, None)
        if model is None or config is None:
            raise ModelError(
                f"{self.name} needs a transformers release with {self.model_class}; "
                f"transformers {transformers.__version__} is installed, which has none. "
                "Install transformers 5.24.0 (Python 3.11 or later) as requirements.txt pins it."
            )
        return model, config


#: SAM 2.1 in ``transformers``.
SAM2 = VideoModelFamily(
    key="sam2",
    name="SAM 2",
    model_class="Sam2VideoModel",
    config_class="Sam2VideoConfig",
    checkpoint_types=CHECKPOINT_TYPES,
    random_architecture=random_architecture,
    with_image_size=with_image_size,
    example_hub_id="facebook/sam2.1-hiera-small",
    original_code="Meta's sam2 package",
)


@dataclass(frozen=True)
class Sam2Variant:
    """One SAM 2.1 model size.

    Attributes:
        key: ``"small"``, ``"base_plus"`` or ``"large"``.
        label: Display name.
        hub_id: Hugging Face Hub repository of the official checkpoint.
        env_var: Environment variable naming local weights.
        throughput_fps: Rough end-to-end frames per second of a segmentation
            run on a ZeroGPU slice (keyframe detection, SAM 2, encoding).
        family: How the model is loaded (SAM 2.1 by default; EdgeTAM's one
            size is a variant of its own family).
    """

    key: str
    label: str
    hub_id: str
    env_var: str
    throughput_fps: float

    family: VideoModelFamily = SAM2


VARIANTS = {
    "small": Sam2Variant(
        "small", "SAM 2.1 Hiera-S", "facebook/sam2.1-hiera-small", "SAM2_SMALL_WEIGHTS", 8.0
    ),
    "base_plus": Sam2Variant(
        "base_plus",
        "SAM 2.1 Hiera-B+",
        "facebook/sam2.1-hiera-base-plus",
        "SAM2_BASE_PLUS_WEIGHTS",
        5.0,
    ),
    "large": Sam2Variant(
        "large", "SAM 2.1 Hiera-L", "facebook/sam2.1-hiera-large", "SAM2_LARGE_WEIGHTS", 3.0
    ),
}


def locate_weights(*, variant: str, weights: str | None = None) -> WeightsLocation:
    """Where one SAM 2.1 size's weights are (the rule in this module's docstring).

    Args:
        variant: ``"small"``, ``"base_plus"`` or ``"large"``.
        weights: The ``weights=`` option.

    Returns:
        An architecture (random weights; a config file must exist), a local
        folder (its ``config.json`` and weights must exist) or a Hub repository.
    """
    return locate_variant_weights(VARIANTS[variant], weights)


def locate_variant_weights(variant: Sam2Variant, weights: str | None) -> WeightsLocation:
    """Where one model's weights are, by the rule in this module's docstring.

    Args:
        variant: The model (a SAM 2.1 size, or EdgeTAM).
        weights: The ``weights=`` option.

    Returns:
        As :func:`locate_weights`.
    """
    label, env_var = variant.label, variant.env_var
    chosen = resolve_weights(weights, env_var=env_var, default=variant.hub_id)
    if is_random_architecture(chosen):
        # random:<size> is described here; a config file must exist.
        path = None if chosen.startswith(RANDOM_PREFIX) else Path(chosen).expanduser()
        return WeightsLocation.architecture(label, chosen, env_var, path)
    if looks_like_path(chosen):
        return WeightsLocation.transformers_folder(label, chosen, env_var, Path(chosen))
    repo = HubRepo(chosen, required=REQUIRED_FILES)
    return WeightsLocation.download(label, chosen, env_var, repo)


def load_model(
    location: WeightsLocation,
    *,
    device: str,
    image_size: int | None = None,
    family: VideoModelFamily = SAM2,
) -> Any:
    """The video model (``Sam2VideoModel`` for SAM 2) at ``location``, in eval mode on ``device``.

    Args:
        location: From :func:`locate_weights` (or the family's own rule).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        image_size: Input size instead of the checkpoint's own (a multiple of 32).
        family: Which models the checkpoint holds (SAM 2.1 or EdgeTAM).

    Returns:
        The model (float32; the caller chooses autocast).

    Raises:
        MissingWeightsError: Nothing to load there (no folder, no files, not
            downloadable or cached).
        ModelError: What is there is not a checkpoint or config of the family, or
            does not fit the model; the installed transformers lacks the family.
    """
    family.classes()
    if location.random_weights:
        return _random_model(location, device=device, image_size=image_size, family=family)
    label, weights, env_var = location.label, location.weights, location.env_var
    if location.path is not None:
        source = str(_check_folder(location, family))
    elif isinstance(location.remote, HubRepo):
        source = location.remote.repo_id
    else:
        raise ValueError(f"{label}: no folder or Hub repository to load from")
    try:
        model = _from_pretrained(source, image_size, family)
    except (MissingWeightsError, ModelError):
        raise
    except OSError as exc:
        if location.path is None:
            # huggingface_hub: offline and not cached, no such repository or file.
            raise missing_weights_error(label, weights, env_var, exc) from exc
        raise _not_a_checkpoint(label, weights, exc, family) from exc
    except Exception as exc:  # noqa: BLE001 - transformers, safetensors and torch raise many kinds
        raise _not_a_checkpoint(label, weights, exc, family) from exc
    return model.eval().to(device)


def build_processor(config: Any) -> Any:
    """The ``Sam2VideoProcessor`` for a model config: its input size, ImageNet normalisation.

    Args:
        config: The model's ``Sam2VideoConfig``.

    Returns:
        The processor (boxes and masks in, masks out at the frame's size).
    """
    from transformers import Sam2ImageProcessor, Sam2VideoProcessor

    return video_processor(config, Sam2VideoProcessor, Sam2ImageProcessor, IMAGE_MEAN, IMAGE_STD)


def _random_model(
    location: WeightsLocation, *, device: str, image_size: int | None, family: VideoModelFamily
) -> Any:
    import torch

    model_class, _ = family.classes()
    label, weights, env_var = location.label, location.weights, location.env_var
    try:
        config = family.random_architecture(weights, image_size=image_size)
    except OSError as exc:
        raise missing_weights_error(label, weights, env_var, exc) from exc
    try:
        # Built where it runs: a large model's random init is much faster on a GPU.
        with torch.device(device):
            model = model_class(config)
    except Exception as exc:  # noqa: BLE001 - a config that does not fit raises many kinds
        raise ModelError(
            f"Cannot build {family.name} from the architecture {weights!r} "
            f"({describe_failure(exc)})."
        ) from exc
    return model.eval()


def _check_folder(location: WeightsLocation, family: VideoModelFamily) -> Path:
    """The checkpoint folder, after checking that its files are there."""
    label, weights, env_var = location.label, location.weights, location.env_var
    folder = location.path.parent if location.path is not None else Path(weights)
    if folder.is_file() and folder.suffix in (".pt", ".pth"):
        raise missing_weights_error(
            label,
            weights,
            env_var,
            f"a .pt file of {family.original_code}; give a folder saved with save_pretrained "
            f"or a Hub id such as {family.example_hub_id}",
        )
    if not (folder / "config.json").is_file():
        raise missing_weights_error(
            label, weights, env_var, f"{folder} is not a folder holding config.json"
        )
    if not any((folder / name).is_file() for name in TRANSFORMERS_WEIGHT_FILES):
        raise missing_weights_error(
            label, weights, env_var, f"{folder} holds no {TRANSFORMERS_WEIGHT_FILES[0]}"
        )
    return folder


def _from_pretrained(source: str, image_size: int | None, family: VideoModelFamily) -> Any:
    import torch
    from transformers import PretrainedConfig

    model_class, config_class = family.classes()
    values, _ = PretrainedConfig.get_config_dict(source)
    model_type = values.get("model_type")
    if model_type not in family.checkpoint_types:
        raise ValueError(f"its config is for a {model_type or 'unknown'} model, not {family.name}")
    config = config_class.from_dict(values)
    if image_size:
        config = family.with_image_size(config, image_size)
    model, info = model_class.from_pretrained(
        source, config=config, dtype=torch.float32, output_loading_info=True
    )
    # transformers initialises missing weights at random and only logs it.
    missing = [
        key if isinstance(key, str) else key[0]
        for key in (*info.get("missing_keys", ()), *info.get("mismatched_keys", ()))
    ]
    if missing:
        example = sorted(missing)[0]
        raise ValueError(f"it lacks {len(missing)} of the model's weights, e.g. {example}")
    return model


def _not_a_checkpoint(
    label: str, weights: str, exc: BaseException, family: VideoModelFamily
) -> ModelError:
    return ModelError(
        f"{weights!r} is not a {family.name} video checkpoint that {label} can load "
        f"({describe_failure(exc)})."
    )
