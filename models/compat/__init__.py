"""Shims into third-party private internals, each pinned to the version it was checked against.

A private function or attribute can change in any release without notice. Each
shim module here states the one version of its library it was verified against
and calls :func:`require_version` when imported, so that another version fails
at once with a message that says what to do, instead of misbehaving later.

Example:
    >>> from models.compat import require_version
    >>> require_version("sam2", "1.1.0", shim="models.compat.sam2")
"""

from __future__ import annotations

from importlib import metadata


class IncompatibleVersionError(ImportError):
    """The installed library is not the version a compatibility shim was verified against."""


def installed_version(distribution: str) -> str:
    """The installed version of ``distribution`` (its name on PyPI).

    Raises:
        importlib.metadata.PackageNotFoundError: It is not installed.
    """
    return metadata.version(distribution)


def require_version(distribution: str, verified: str, *, shim: str) -> None:
    """Check that ``distribution`` is installed at exactly the version ``shim`` was checked against.

    Args:
        distribution: The library's name on PyPI, e.g. ``"sam2"``.
        verified: The version the shim was checked against, e.g. ``"1.1.0"``.
        shim: Dotted name of the shim module, for the message (``__name__``).

    Raises:
        IncompatibleVersionError: Another version is installed.
        ModuleNotFoundError: ``distribution`` is not installed at all.
    """
    try:
        installed = installed_version(distribution)
    except metadata.PackageNotFoundError:
        raise ModuleNotFoundError(
            f"{shim} needs {distribution} {verified}, which is not installed: "
            f"pip install {distribution}=={verified}",
            name=distribution,
        ) from None
    if installed != verified:
        raise IncompatibleVersionError(
            f"{shim} uses private internals of {distribution} and was verified against "
            f"{distribution} {verified}, but {distribution} {installed} is installed. "
            f"Install the verified version (pip install {distribution}=={verified}, as "
            f"requirements.txt pins it), or check {shim} against {distribution} {installed} "
            "and update its VERIFIED_VERSION."
        )
