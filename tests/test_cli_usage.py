"""The ``wsbridge`` command's own usage: no argument lists the commands, and
global options work on either side of the subcommand."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wsbridge import cli


def test_wsbridge_alone_lists_its_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "wsbridge"], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    for command in ("demo", "serve", "hub"):
        assert f"  {command} " in done.stdout or f"    {command}" in done.stdout
    assert "wsbridge demo" in done.stdout  # how to start


@pytest.mark.parametrize(
    "argv",
    [
        ["--log-level", "debug", "serve", "app.py"],
        ["serve", "app.py", "--log-level", "debug"],
        ["serve", "--log-level=debug", "app.py"],
    ],
)
def test_global_options_on_either_side_of_the_subcommand(argv: list[str]) -> None:
    args = cli.build_parser().parse_args(argv)
    assert args.log_level == "debug" and args.app == "app.py"


def test_the_default_log_level_stays() -> None:
    assert cli.build_parser().parse_args(["serve", "app.py"]).log_level == "warning"


def test_a_bad_log_level_after_the_subcommand_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["demo", "--log-level", "loud"])
    assert "loud" in capsys.readouterr().err
