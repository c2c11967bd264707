"""The exporter command: exit codes, JSON result, progress on stderr."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from exporter.settings import Settings
from tests.test_run import CATALOG


def exporter(settings: Settings, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXPORTER_HOME": str(settings.home), "EXPORTER_CATALOG": str(CATALOG),
           **env_vars}
    return subprocess.run([sys.executable, "-m", "exporter.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_export_json_prints_one_result_object(rt_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "items.csv"
    done = exporter(rt_settings, "export", "items", "--org", "1", "--format", "csv", "-o", str(out),
                    "--range", "all", "--status", "a", "--status", "b", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rows"] == 10_000 and result["bytes"] == out.stat().st_size
    assert result["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert result["path"] == str(out.resolve()) and result["seconds"] > 0
    assert "100.0%" in done.stderr  # the progress bar went to stderr


def test_invalid_input_exits_2_with_the_message(rt_settings: Settings, tmp_path: Path) -> None:
    done = exporter(rt_settings, "export", "items", "--org", "1", "-o", str(tmp_path / "x"),
                    "--fields", "code,salary")
    assert done.returncode == 2
    assert "UNKNOWN_FIELD" in done.stderr and "salary" in done.stderr
    assert done.stdout == "" and not (tmp_path / "x").exists()


def test_unknown_format_exits_2(rt_settings: Settings, tmp_path: Path) -> None:
    done = exporter(rt_settings, "export", "items", "--org", "1", "--format", "pdf",
                    "-o", str(tmp_path / "x.pdf"))
    assert done.returncode == 2 and "UNKNOWN_FORMAT" in done.stderr


def test_a_missing_output_folder_is_invalid_input(rt_settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "x.csv"
    done = exporter(rt_settings, "export", "items", "--org", "1", "--range", "all", "-o", str(missing))
    assert done.returncode == 2 and "does not exist" in done.stderr


def test_an_unreachable_database_exits_1(rt_settings: Settings, tmp_path: Path) -> None:
    closed = "postgresql://nobody:x@127.0.0.1:9/none"
    done = exporter(rt_settings, "export", "items", "--org", "1", "--range", "all",
                    "-o", str(tmp_path / "x.csv"), EXPORTER_DATABASE_URL=closed)
    assert done.returncode == 1 and "SOURCE_UNAVAILABLE" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_preview_prints_labels_and_rows(rt_settings: Settings) -> None:
    done = exporter(rt_settings, "preview", "items", "--org", "2", "--range", "all",
                    "--fields", "code,amount", "--limit", "3", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["code"] for r in rows] == ["IT-10002", "IT-10003", "IT-10004"]


def test_catalog_lists_types(rt_settings: Settings) -> None:
    done = exporter(rt_settings, "catalog", "--json")
    assert done.returncode == 0 and "items" in json.loads(done.stdout)
