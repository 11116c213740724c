"""One CLI shape: the parser of every verb, built the same way (runner/cli/options.py)."""

from __future__ import annotations

import argparse

import pytest

from runner.cli import build_parser
from tests.runner.cli.tenancy import refused, tenancy

# The options every verb that has them must declare alike.
SHARED = (
    "--dsn",
    "--lock-timeout",
    "--manifest",
    "--tenant",
    "--exclude",
    "--json",
    "--report",
    "--verbose",
    "--quiet",
    "--traceback",
    "--jobs",
    "--batch-size",
    "--dry-run",
    "--yes",
)
# Verbs that work on the tenants of the registry, one by one.
PER_TENANT = (
    "plan",
    "provision",
    "migrate",
    "cutover",
    "validate",
    "rollback",
    "status",
    "verify-grants",
    "distribute",
    "history",
)
# Verbs that use no database (init uses one with --from-database only).
NO_DATABASE = ("completion",)


def verbs() -> dict[str, argparse.ArgumentParser]:
    """Every verb's parser by its name, the federation's verbs as `federation search` and so on."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    nested = any(isinstance(a, argparse._SubParsersAction) for a in sub._actions)
                    if nested:
                        walk(sub, f"{prefix}{name} ")
                    else:
                        found[f"{prefix}{name}"] = sub

    walk(build_parser(), "")
    return found


def _shape(action: argparse.Action) -> tuple[object, ...]:
    return (
        tuple(action.option_strings),
        action.dest,
        action.metavar,
        action.help,
        action.type,
        action.nargs,
        action.const,
        action.choices,
        type(action).__name__,
    )


def test_every_verb_that_touches_a_database_takes_the_same_shared_options() -> None:
    found = verbs()
    assert len(found) > 20 and "federation search" in found and "history" in found
    seen: dict[str, tuple[object, ...]] = {}
    for name, parser in found.items():
        options = parser._option_string_actions
        # Every verb: one JSON object, a report file, -v/-q, tracebacks on request.
        for flag in ("--json", "--report", "-v", "-q", "--traceback"):
            assert flag in options, (name, flag)
        if name in NO_DATABASE:
            assert "--dsn" not in options, name
        else:
            assert "--dsn" in options and "--lock-timeout" in options, name
        if name in PER_TENANT:
            assert "--tenant" in options and "--exclude" in options, name
        for flag in SHARED:
            if flag in options:
                shape = _shape(options[flag])
                # The same name, metavar, help, type and action wherever it appears.
                assert seen.setdefault(flag, shape) == shape, (name, flag)
    assert set(seen) == set(SHARED)
    assert seen["--tenant"][2] == seen["--exclude"][2] == "ID" and seen["--jobs"][2] == "N"
    assert seen["--manifest"][2] == seen["--report"][2] == "FILE" and seen["--dsn"][2] == "DSN"
    assert seen["--lock-timeout"][2] == "SECONDS" and "seconds" in str(seen["--lock-timeout"][3])


@pytest.mark.parametrize(
    "argv",
    [
        ["migrate", "--online", "--dry-run"],
        ["migrate", "--online", "--batch-size", "10"],
        ["migrate", "--dry-run", "--batch-size", "10"],
        ["status", "-v", "-q"],
        ["cutover", "--all", "--tenant", "blp818"],
        ["contract", "--dry-run", "--yes"],
        ["rollback", "--tenant", "blp818", "--dry-run", "--yes"],
        ["uninstall", "--dry-run", "--yes"],
    ],
)
def test_conflicting_flags_are_refused_before_anything_runs(argv: list[str]) -> None:
    out = tenancy(*argv, "--dsn", "host=/nonexistent-socket-dir")
    assert refused(out) and "not allowed with argument" in out.stderr, out.stderr


def test_help_of_every_verb_ends_with_the_exit_codes() -> None:
    for name, parser in verbs().items():
        assert "exit codes:" in (parser.epilog or ""), name
        assert "141" in (parser.epilog or ""), name


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["migrate", "--batch-size", "3000000000"], "from 1 to 2,147,483,647"),
        (["migrate", "--batch-size", "0"], "from 1 to 2,147,483,647"),
        (["migrate", "--lock-timeout", "1ms"], "number of seconds"),
        (["migrate", "--lock-timeout", "0"], "e.g. 0.5"),
        (["migrate", "--jobs", "two"], "whole number"),
        (["move", "--tenant", "x", "--to", "nowhere"], "expected HOST:PORT"),
    ],
)
def test_a_bad_value_says_what_is_allowed(argv: list[str], says: str) -> None:
    out = tenancy(*argv)
    assert refused(out) and says in out.stderr, out.stderr
