"""The benchmark runner must keep working (benchmarks are not timed tests).

Runs ``python -m benchmarks --quick --only producer,memory`` in a subprocess
and checks that it prints the table and writes valid JSON; the figures
themselves are not asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.common import REPO


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_runner_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--quick", "--only", "producer,memory", "--json", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "bench", proc.stdout
    assert any(line.startswith("producer ") for line in lines), proc.stdout
    assert any(line.startswith("memory ") for line in lines), proc.stdout
    data = json.loads(out.read_text())
    assert data["failures"] == {}
    benches = {r["bench"] for r in data["results"]}
    assert benches == {"producer", "memory"}
    for r in data["results"]:
        assert r["wsbridge"] is not None and r["wsbridge"] > 0


@pytest.mark.parametrize("bad", [["--hubs", "a,b"], ["--hubs", "0"], ["--viewers", "0"]])
def test_scaleout_options_are_checked(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["--only", "scaleout", *bad])
    assert info.value.code == 2 and "--hubs" in capsys.readouterr().err
