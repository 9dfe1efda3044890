"""Shims into third-party private internals, each pinned to the version it was checked against.

A private function or attribute can change in any release without notice. Each
shim module here states the version of its library it was verified against
and calls :func:`require_version` when imported, so that another version fails
at once with a message that says what to do, instead of misbehaving later.

A shim may name several versions when the requirements pin different ones for
different Pythons (``transformers`` on Python 3.10 and 3.11+).

Example:
    >>> from models.compat import require_version
    >>> require_version("ultralytics", "8.4.190", shim="models.compat.ultralytics")
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


def require_version(distribution: str, verified: str | tuple[str, ...], *, shim: str) -> None:
    """Check that ``distribution`` is installed at a version ``shim`` was checked against.

    Args:
        distribution: The library's name on PyPI, e.g. ``"ultralytics"``.
        verified: The version the shim was checked against, e.g. ``"8.4.190"``, or
            several, oldest first, when the requirements pin different versions
            for different Pythons (the last is the one to install).
        shim: Dotted name of the shim module, for the message (``__name__``).

    Raises:
        IncompatibleVersionError: Another version is installed.
        ModuleNotFoundError: ``distribution`` is not installed at all.
    """
    versions = (verified,) if isinstance(verified, str) else tuple(verified)
    if not versions:
        raise ValueError(f"{shim} names no verified version of {distribution}")
    wanted = versions[-1]
    listed = " and ".join(versions)
    try:
        installed = installed_version(distribution)
    except metadata.PackageNotFoundError:
        raise ModuleNotFoundError(
            f"{shim} needs {distribution} {listed}, which is not installed: "
            f"pip install {distribution}=={wanted}",
            name=distribution,
        ) from None
    if installed in versions:
        return
    if len(versions) == 1:
        raise IncompatibleVersionError(
            f"{shim} uses private internals of {distribution} and was verified against "
            f"{distribution} {wanted}, but {distribution} {installed} is installed. "
            f"Install the verified version (pip install {distribution}=={wanted}, as "
            f"requirements.txt pins it), or check {shim} against {distribution} {installed} "
            "and update its VERIFIED_VERSION."
        )
    raise IncompatibleVersionError(
        f"{shim} uses private internals of {distribution} and was verified against "
        f"{distribution} {listed}, but {distribution} {installed} is installed. "
        f"Install a verified version (pip install {distribution}=={wanted}, or the one "
        f"requirements.txt pins for your Python), or check {shim} against {distribution} "
        f"{installed} and add it to its VERIFIED_VERSIONS."
    )
