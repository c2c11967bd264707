"""House rules that code review would otherwise have to remember."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from exporter.settings import HELP, Settings

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


def test_readme_documents_every_setting_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| `(EXPORTER_[A-Z0-9_]+)` \| `([^`]*)` \|", readme, re.MULTILINE))
    assert set(rows) == set(HELP)
    for key, (default, _) in HELP.items():
        assert rows[key] == default, key


def test_every_setting_has_a_field() -> None:
    names = {"EXPORTER_" + f.upper() for f in Settings.__dataclass_fields__}
    assert names == set(HELP)


def test_the_defaults_in_help_and_in_the_dataclass_agree() -> None:
    # Each default is written twice (HELP for the README and the environment, the dataclass
    # for code); with no environment both must give the same settings.
    assert Settings.from_env({}) == Settings()
