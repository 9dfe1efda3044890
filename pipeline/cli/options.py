"""Command-line options made from the run configs, so each default and help text is written once.

Every field of a config (:mod:`pipeline.configs`) declared with ``cli=True``
becomes an option: its flag from the field's name (or its ``flag``), its type
from the annotation, its help from the class's ``Attributes`` docstring, its
default shown from the field's default. Parsed values that were not given stay
out of the config, so the dataclass's own default applies, and every value is
read as every client's is (:func:`pipeline.request.config_from_fields`), then
checked by the config. Compare the ``trackers`` package, which builds
its tracker options from each tracker's ``__init__`` signature and docstring.

Example:
    >>> parser = argparse.ArgumentParser()
    >>> add_config_options(parser, DetectionConfig, only=("detector", "confidence"))
    >>> args = parser.parse_args(["--conf", "0.4"])
    >>> config_from_args(DetectionConfig, args).confidence
    0.4
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

from pipeline.configs import DetectionConfig, RunConfig  # noqa: F401 - DetectionConfig: doctest
from pipeline.docstrings import documented_attributes
from pipeline.request import base_type, config_from_fields


def _cli_fields(
    config_type: type[RunConfig], only: Collection[str] | None
) -> Iterator[dataclasses.Field]:
    for item in dataclasses.fields(config_type):
        if item.init and item.metadata.get("cli") and (only is None or item.name in only):
            yield item


def option_flag(item: dataclasses.Field) -> str:
    """The command-line flag of a config field."""
    return item.metadata.get("flag") or "--" + item.name.replace("_", "-")


def _default_text(item: dataclasses.Field) -> str:
    if item.default is dataclasses.MISSING or item.default in (None, (), False, ""):
        return ""
    return f" (default: {item.default})"


def add_config_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config_type: type[RunConfig],
    *,
    only: Collection[str] | None = None,
) -> None:
    """Add an option for each command-line field of ``config_type``.

    Args:
        parser: The parser (or argument group) to add to.
        config_type: The config class.
        only: Add just these fields (default: every field with ``cli=True``).
    """
    hints = typing.get_type_hints(config_type)
    helps = documented_attributes(config_type)
    for item in _cli_fields(config_type, only):
        kind = base_type(hints[item.name])
        text = helps.get(item.name, "")
        choices = item.metadata.get("choices")
        if choices is not None:
            names = choices() if callable(choices) else choices
            text += f" One of: {', '.join(names)}."
        kwargs: dict[str, Any] = {"dest": item.name, "default": None}
        if item.metadata.get("metavar"):
            kwargs["metavar"] = item.metadata["metavar"]
        if kind is bool:
            kwargs["action"] = "store_true"
        elif item.metadata.get("repeat"):
            kwargs["action"] = "append"
        elif kind in (int, float):
            kwargs["type"] = kind
        help_text = (text + _default_text(item)).replace("%", "%%")
        parser.add_argument(option_flag(item), help=help_text, **kwargs)


def config_from_args(
    config_type: type[RunConfig], args: argparse.Namespace, **overrides: Any
) -> Any:
    """The config the parsed options describe; options not given keep the config's defaults.

    Args:
        config_type: The config class.
        args: Parsed arguments (from a parser set up by :func:`add_config_options`).
        **overrides: Fields set by the caller rather than by an option.

    Returns:
        The config, checked by its own ``__post_init__``; what a request must
        say (:meth:`~pipeline.configs.RunConfig.check_request`) the command
        that runs it checks.

    Raises:
        ConfigError: A value is out of range.
        models.ModelError: An unknown model or size.
    """
    given = {item.name: getattr(args, item.name, None) for item in _cli_fields(config_type, None)}
    return config_from_fields(config_type, given, check_request=False, **overrides)


def config_argv(config_type: type[RunConfig], args: argparse.Namespace) -> list[str]:
    """The options that were given, as command-line words again (for a child process)."""
    words: list[str] = []
    for item in _cli_fields(config_type, None):
        value = getattr(args, item.name, None)
        if value is None or value is False:
            continue
        flag = option_flag(item)
        if value is True:
            words.append(flag)
        elif isinstance(value, list):
            for each in value:
                words += [flag, str(each)]
        else:
            words += [flag, str(value)]
    return words


def add_output_options(parser: argparse.ArgumentParser, outputs: dict[str, Any]) -> None:
    """An option per output file of a kind of run (``--out``, ``--tracks``...).

    Args:
        parser: The subcommand's parser.
        outputs: The run's :attr:`~pipeline.runtime.template.Run.outputs`.
    """
    for name, output in outputs.items():
        parser.add_argument(
            output.flag,
            dest=f"output_{name}",
            type=Path,
            required=output.required,
            help=f"write {output.description} here",
        )


def outputs_from_args(outputs: dict[str, Any], args: argparse.Namespace) -> dict[str, Path]:
    """``{output name: path}`` for the output files given on the command line."""
    given = {name: getattr(args, f"output_{name}") for name in outputs}
    return {name: path for name, path in given.items() if path is not None}
