"""The project can be released, and a generated workflow's install line installs the release.

The release workflow's build job is executed (tests/support/workflow_runner.py) on a copy of this checkout:
`python -m build` makes the sdist and the wheel, `twine check` accepts them, the tag must be pyproject's
version. Then the exact install line `supadeploy ci init` writes (`pip install supadeploy==X.Y.Z`) installs
the built wheel into a fresh virtual environment from a local folder with --no-index (its dependencies
downloaded into that folder first, from whatever index pip is configured with), and `supadeploy --version`
and `--help` run from there.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supadeploy.toml_files import loads
from tests.conftest import REPO_ROOT
from tests.support.cli import invoke
from tests.support.workflow_runner import WorkflowContext, artifact_dir, run_job
from tests.test_ci_workflows import actionlint, check_jsonschema

RELEASE = REPO_ROOT / ".github" / "workflows" / "release.yml"
VERSION = loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
PIN = re.compile(r"^        run: (pip install supadeploy==\S+)$", re.MULTILINE)
TAG_STEP = "The tag is the version in pyproject.toml"


def copy_of_the_checkout(target: Path) -> Path:
    """What actions/checkout would give: the tracked (and new, not ignored) files of this checkout."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO_ROOT,
                            capture_output=True, text=True, check=True).stdout
    for relative in filter(None, listed.split("\0")):
        source = REPO_ROOT / relative
        if relative.startswith(".tools/") or not source.is_file() or source.is_symlink():
            continue
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target / relative)
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The release workflow's build job, run on a copy of the checkout: the folder of its `dist` artifact."""
    project = copy_of_the_checkout(tmp_path_factory.mktemp("release") / "supadeploy")
    context = WorkflowContext(install_line="", postgres_service_url="", github={"ref_name": f"v{VERSION}"})
    left_out = ("Install the build tools",) + (() if sys.version_info >= (3, 11) else (TAG_STEP,))  # tomllib
    runs = run_job(RELEASE, "build", project, context, not_here=left_out)
    assert [run.returncode for run in runs] == [0] * len(runs), runs[-1].output
    assert "PASSED" in runs[-2].output and runs[-1].name == "dist"
    return artifact_dir(project, "dist") / "dist"


def test_the_release_workflow_is_valid_and_publishes_with_trusted_publishing() -> None:
    assert actionlint(RELEASE) == []
    assert check_jsonschema("vendor.github-workflows", RELEASE).returncode == 0
    text = RELEASE.read_text()
    assert 'tags:\n      - "v*"' in text
    assert "permissions:\n      id-token: write" in text and "name: pypi" in text
    assert "uses: pypa/gh-action-pypi-publish@release/v1" in text
    assert "password" not in text and "secrets." not in text, "trusted publishing needs no token"


def test_the_build_makes_a_wheel_and_an_sdist_of_pyprojects_version(built: Path) -> None:
    assert sorted(p.name for p in built.iterdir()) == [f"supadeploy-{VERSION}-py3-none-any.whl",
                                                       f"supadeploy-{VERSION}.tar.gz"]


def test_a_wrong_tag_stops_the_release(tmp_path: Path) -> None:
    if sys.version_info < (3, 11):
        pytest.skip("the tag step reads pyproject.toml with tomllib (Python 3.11+, as the release job has)")
    project = tmp_path / "supadeploy"
    project.mkdir()
    shutil.copy2(REPO_ROOT / "pyproject.toml", project / "pyproject.toml")
    context = WorkflowContext(install_line="", postgres_service_url="", github={"ref_name": "v9.9.9"})
    runs = run_job(RELEASE, "build", project, context, not_here=("Install the build tools",))
    assert [(run.name, run.returncode) for run in runs] == [(TAG_STEP, 1)]
    assert f"::error::tag v9.9.9 is not v{VERSION}" in runs[0].output


def test_the_generated_install_line_installs_the_built_wheel(built: Path, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    generated = invoke("ci", "init", "--workdir", str(tmp_path / "app"))
    assert generated.exit_code == 0, generated.output
    lines = {match for workflow in (tmp_path / "app" / ".github" / "workflows").glob("*.yml")
             for match in PIN.findall(workflow.read_text())}
    assert lines == {f"pip install supadeploy=={VERSION}"}
    requirement = shlex.split(lines.pop())[2:]

    clean = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}  # no source tree
    wheel = built / f"supadeploy-{VERSION}-py3-none-any.whl"
    index = tmp_path / "index"  # a local index folder: the built wheel and its dependencies, nothing else
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "download", "--quiet", "--dest", str(index), str(wheel)], check=True, timeout=300,
                   env=clean, capture_output=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    installed = subprocess.run([*pip, "--isolated", "--python", str(venv / "bin" / "python"), "install", "--no-index",
                                "--find-links", str(index), *requirement], capture_output=True, text=True,
                               timeout=300, env=clean)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f" supadeploy-{VERSION}" in installed.stdout.splitlines()[-1], installed.stdout

    version = subprocess.run([str(venv / "bin" / "supadeploy"), "--version"], capture_output=True, text=True,
                             timeout=60, cwd=tmp_path, env=clean)
    assert version.stdout == f"supadeploy {VERSION}\n", version.stderr
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import supadeploy; print(supadeploy.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path, check=True, env=clean).stdout
    assert Path(where.strip()).is_relative_to(venv), "supadeploy comes from the installed wheel"
    helped = subprocess.run([str(venv / "bin" / "supadeploy"), "--help"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env=clean)
    assert helped.returncode == 0 and "push" in helped.stdout, helped.stderr
