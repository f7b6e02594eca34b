"""The environment a measured supadeploy process runs in: byte-compiled as a pip-installed package is.

pip compiles a wheel's modules when it installs it. A checkout run with PYTHONDONTWRITEBYTECODE=1 (this
sandbox sets it) would recompile every module of src/ on every run instead (~0.1-0.5 s), which no user pays.
The cache goes under ``scratch`` (PYTHONPYCACHEPREFIX), never into src/.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def installed_environment(scratch: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with supadeploy's bytecode compiled into ``scratch``."""
    import supadeploy

    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    package = Path(supadeploy.__file__).resolve().parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=env, check=True)
    return env
