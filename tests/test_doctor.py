"""lorakit doctor: each check is a record with a status and, when not ok, a fix."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lorakit import environment
from lorakit.environment import FAIL, OK, WARN, Check, check_disk, check_optional, check_python, run_checks, summary


def test_python_check_reports_this_interpreter():
    check = check_python()
    assert check.status == OK and check.data["version"].startswith("3.")


def test_disk_check_measures_free_space_even_for_a_folder_not_made_yet(tmp_path):
    check = check_disk(tmp_path / "workspace" / "not" / "yet")
    assert check.data["free_gb"] > 0 and check.data["path"].endswith("yet")
    assert check.status in (OK, WARN, FAIL)


def test_disk_check_fails_with_a_fix_when_space_is_short(tmp_path, monkeypatch):
    monkeypatch.setattr(environment, "MIN_FREE_GB", 1e9)  # more than any disk has
    check = check_disk(tmp_path)
    assert check.status == FAIL and "space" in check.fix


def test_optional_packages_say_which_extra_installs_them():
    extras = {
        "train": [("json", "pydantic", "settings")],  # installed: its version is reported
        "tag": [("nope", "lorakit-no-such-package", "something")],
    }
    installed, missing = check_optional(extras)
    assert installed.status == OK and installed.data["version"]
    assert missing.status == WARN and missing.fix == "pip install 'lorakit[tag]'"


def test_torch_check_finds_the_installed_torch_and_a_device():
    checks = environment.check_torch()
    assert checks[0].name == "torch" and checks[0].status == OK
    assert len(checks) >= 2 and all(c.group == "torch" for c in checks)
    assert all(c.fix for c in checks if c.status != OK)


def test_summary_is_the_worst_status():
    assert summary([Check("a", OK, ""), Check("b", WARN, "", "x")]) == WARN
    assert summary([Check("a", FAIL, "", "x"), Check("b", WARN, "", "x")]) == FAIL
    assert summary([Check("a", OK, "")]) == OK


def test_run_checks_without_torch_does_not_import_it(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from lorakit.environment import run_checks; "
        f"checks = run_checks({str(tmp_path)!r}, include_torch=False); "
        "print(len(checks), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 3 and out[1] == "False"


def test_doctor_cli_json(tmp_path):
    from lorakit.cli.main import app

    result = CliRunner().invoke(app, ["doctor", "--json", "--no-torch", "--workspace", str(tmp_path)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output)
    names = [c["name"] for c in report["checks"]]
    assert names[:3] == ["Workspace", "Python", "Disk"] and report["status"] in (OK, WARN, FAIL)
    assert report["status"] == summary([Check(**c) for c in report["checks"]])


def test_doctor_cli_table_shows_fixes_with_brackets_intact(tmp_path):
    from lorakit.cli.main import app

    checks = run_checks(tmp_path, include_torch=False)
    result = CliRunner().invoke(app, ["doctor", "--no-torch", "--workspace", str(tmp_path)])
    assert "lorakit doctor" in result.output
    for check in checks:
        if check.fix and "lorakit[" in check.fix:
            assert "lorakit[" in result.output  # rich markup must not swallow "[tag]"
