"""supadeploy: deploy a Supabase project's database safely."""

from __future__ import annotations

UNKNOWN_VERSION = "0+unknown"


def __getattr__(name: str) -> str:
    """``supadeploy.__version__``: the installed package's version (pyproject.toml is its one source), read on
    first use so that start-up does not pay for importlib.metadata."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("supadeploy")
    except PackageNotFoundError:  # run from a source tree that was never installed
        found = UNKNOWN_VERSION
    globals()["__version__"] = found
    return found
