"""The package installs offline from the checkout with the commands that
docs/python.md gives, and imports from the installed copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib.util import find_spec
from typing import List

import pytest

from conftest import REPO

PYTHON = sys.executable
PIP_OFFLINE = ["--no-index", "--no-build-isolation"]


def run(cmd: List[str], **kw) -> str:
    kw.setdefault("env", clean_env())
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    assert proc.returncode == 0, "%s:\n%s%s" % (" ".join(cmd), proc.stdout, proc.stderr)
    return proc.stdout


def source_copy(root: str) -> str:
    """A copy of python/ (pip builds in the tree; the checkout stays clean)."""
    src = os.path.join(root, "src")
    shutil.copytree(os.path.join(REPO, "python"), src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    return src


IMPORT_CHECK = ("import heapd, heapd.aio, msgpack; "
                "print(heapd.__version__, heapd.__file__, callable(heapd.connect))")


def install_into_venv(root: str) -> str:
    venv = os.path.join(root, "venv")
    run([PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", venv])
    vpy = os.path.join(venv, "bin", "python")
    run([PYTHON, "-m", "pip", "--python", vpy, "install"] + PIP_OFFLINE + [source_copy(root)])
    return run([vpy, "-c", IMPORT_CHECK], cwd=root, env=clean_env())


def install_into_target(root: str) -> str:
    target = os.path.join(root, "target")
    run([PYTHON, "-m", "pip", "install", "--target", target] + PIP_OFFLINE
        + ["--no-deps", source_copy(root)])
    return run([PYTHON, "-c", IMPORT_CHECK], cwd=root, env=clean_env(PYTHONPATH=target))


def clean_env(**extra: str) -> dict:
    """No PYTHONPATH (the checkout must not be what imports), and pip never
    asks or looks for a newer pip on the network."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def test_pip_install_offline_from_the_checkout():
    missing = [m for m in ("pip", "setuptools", "wheel", "venv") if not find_spec(m)]
    if missing:  # (found, not imported: setuptools must not load into pytest)
        pytest.skip("no %s: apt-get install python3-pip python3-venv python3-setuptools "
                    "python3-wheel" % ", ".join(missing))
    roots = [tempfile.mkdtemp(prefix="heapd-install-") for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            venv_out, target_out = pool.map(lambda f, r: f(r),
                                            [install_into_venv, install_into_target], roots)
        version, path, ok = venv_out.split()
        assert version == "0.1.0" and ok == "True"
        assert path.startswith(os.path.join(roots[0], "venv"))  # the installed copy
        version, path, ok = target_out.split()
        assert path.startswith(os.path.join(roots[1], "target")) and ok == "True"
    finally:
        for r in roots:
            shutil.rmtree(r, ignore_errors=True)
