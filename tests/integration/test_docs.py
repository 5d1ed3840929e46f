"""docs/API.md stays true to the code: it is what tools/gen_api_doc.py writes today."""
import os
import subprocess

from conftest import LATHE_BIN, ROOT


def test_api_md_lists_exactly_the_implemented_operations():
    expected = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "gen_api_doc.py"),
                               LATHE_BIN], check=True, capture_output=True, text=True).stdout
    with open(os.path.join(ROOT, "docs", "API.md")) as f:
        assert f.read() == expected, "docs/API.md is stale: run tools/gen_api_doc.py build/lathe > docs/API.md"
