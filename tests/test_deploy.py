"""The systemd unit in deploy/ is valid (`systemd-analyze verify`) and hardened."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "deploy" / "searchsvc.service"


def settings(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_the_unit_is_hardened():
    unit = settings(UNIT.read_text())
    assert unit["User"] == ["searchsvc"] and unit["Group"] == ["searchsvc"]
    assert unit["NoNewPrivileges"] == ["yes"]
    assert unit["ProtectSystem"] == ["strict"]
    assert unit["CapabilityBoundingSet"] == [""]
    # The index lives under the one writable path, and so does the analytics file in it.
    index_dir = next(v for v in unit["Environment"] if v.startswith("SEARCHSVC_INDEX_DIR="))
    writable = unit["ReadWritePaths"][0]
    assert index_dir.partition("=")[2].startswith(writable + "/")
    metrics_dir = next(v for v in unit["Environment"] if v.startswith("SEARCHSVC_METRICS_DIR="))
    assert metrics_dir.partition("=")[2].startswith("/run/" + unit["RuntimeDirectory"][0] + "/")


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze is not installed (Debian: apt-get install systemd)",
)
def test_systemd_analyze_verifies_the_unit(tmp_path):
    # The unit names /opt/searchsvc/bin/searchsvc; verify checks that the command exists,
    # so the copy checked here runs this checkout's own.
    exe = Path(sys.executable).parent / "searchsvc"
    text = UNIT.read_text().replace("/opt/searchsvc/bin/searchsvc", str(exe))
    assert str(exe) in text
    unit = tmp_path / "searchsvc.service"
    unit.write_text(text)
    proc = subprocess.run(
        ["systemd-analyze", "verify", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    problems = [
        line
        for line in (proc.stdout + proc.stderr).splitlines()
        # Outside a booted systemd (containers, CI) verify also reports on the host's
        # other units, and cannot know our user; only lines about this unit count.
        if "searchsvc.service" in line
    ]
    assert proc.returncode == 0 and not problems, proc.stdout + proc.stderr
