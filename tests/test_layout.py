"""House rules that code review would otherwise have to remember."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from exporter.settings import HELP, Settings, defaults

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"streamlit", "dramatiq", "fastapi"}


def test_exporter_never_imports_a_transport() -> None:
    for path in (ROOT / "exporter").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path} imports {name}"


def test_only_settings_reads_the_environment() -> None:
    # Handing the whole environment to a child process is not reading a setting.
    reads = re.compile(r"os\.environ\s*(\[|\.get|\.setdefault)|os\.getenv")
    for path in (ROOT / "exporter").rglob("*.py"):
        if path.name != "settings.py":
            assert not reads.search(path.read_text()), path


def test_readme_documents_every_setting_with_its_default_and_help() -> None:
    readme = (ROOT / "README.md").read_text()
    table = re.findall(r"^\| `(EXPORTER_[A-Z0-9_]+)` \| `([^`]*)` \| (.*?) \|\s*$", readme,
                       re.MULTILINE)
    assert {name: default for name, default, _ in table} == defaults()
    assert {name: text for name, _, text in table} == HELP


def test_every_setting_has_one_line_of_help() -> None:
    assert set(HELP) == set(defaults())
    assert all(text and "\n" not in text for text in HELP.values())


def test_an_empty_environment_gives_the_defaults_and_a_set_one_is_read() -> None:
    assert Settings.from_env({}) == Settings()
    read = Settings.from_env({"EXPORTER_CHUNK_ROWS": "5", "EXPORTER_API_CACHE_SECONDS": "0",
                              "EXPORTER_HOME": "/srv/x", "EXPORTER_STORAGE": "s3"})
    assert (read.chunk_rows, read.api_cache_seconds, read.home, read.storage) == \
        (5, 0.0, Path("/srv/x"), "s3")
