"""A fresh venv with ``pip install ./client`` (once per session), and ways to run its SDK
and its ``lifeboat`` command as separate processes against a live stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devsupport import ROOT

DRIVER = Path(__file__).with_name("sdk_driver.py")  # runs inside the fresh venv
INSTALL_TIMEOUT = 600  # seconds pip has to fetch and install the client's dependencies
RUN_TIMEOUT = 180  # seconds one SDK or CLI process may take


@dataclass
class SdkVenv:
    """A virtualenv that holds lifeboat-client and its dependencies, nothing of the checkout."""

    root: Path
    workdir: Path  # where its processes run: far from the checkout, so nothing imports from it

    @property
    def python(self) -> str:
        return str(self.root / "bin" / "python")

    @property
    def lifeboat(self) -> str:
        return str(self.root / "bin" / "lifeboat")

    def env(self, url: str, api_key: str | None, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LIFEBOAT_", "PYTHON")) and k != "VIRTUAL_ENV"
        }
        env["PATH"] = f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["LIFEBOAT_URL"] = url
        if api_key is not None:
            env["LIFEBOAT_API_KEY"] = api_key
        return {**env, **extra}

    def sdk(self, scenario: str, url: str, api_key: str, *args: str) -> Any:
        """Run a scenario of the driver in the venv; the JSON it prints."""
        done = subprocess.run(
            [self.python, str(DRIVER), scenario, *args],
            env=self.env(url, api_key),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, f"{scenario} exited {done.returncode}:\n{done.stderr}"
        return json.loads(done.stdout)

    def cli(
        self,
        *args: str,
        url: str,
        api_key: str | None,
        extra_env: dict[str, str] | None = None,
        stdin: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.lifeboat, *args],
            env=self.env(url, api_key, **(extra_env or {})),
            cwd=self.workdir,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )


@pytest.fixture(scope="session")
def sdk_venv(tmp_path_factory: pytest.TempPathFactory) -> SdkVenv:
    """``python -m venv`` and ``pip install ./client`` from the package index, once a session.

    The project's pip installs into the new venv (``--python``), which saves bootstrapping
    pip there; its wheel cache makes later sessions fast.
    """
    root = tmp_path_factory.mktemp("sdk-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    venv = SdkVenv(root, tmp_path_factory.mktemp("sdk-work"))
    cmd = [sys.executable, "-m", "pip", "--python", venv.python, "install", "--quiet"]
    done = subprocess.run(
        [*cmd, str(ROOT / "client")],
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"pip install ./client failed:\n{done.stderr}")
        pytest.skip(f"pip install ./client failed (no package index?): {done.stderr[-500:]}")
    return venv
