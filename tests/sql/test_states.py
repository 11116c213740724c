"""Each state vocabulary of runner/states.py is the one its ledger table's CHECK constraint
allows, word for word, and the Python side reports a tenant in the ledger's spelling."""

from __future__ import annotations

import re
from enum import StrEnum

import pytest

from runner.states import OnlineState, PlacementState, TableState, TenantOutcome, TenantState
from tests.conftest import Database


def _allowed(db: Database, table: str, constraint: str) -> set[str]:
    """The values the CHECK constraint of tenancy.<table> allows for its column state."""
    with db.connect() as conn:
        row = conn.execute(
            "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint AS c "
            "WHERE c.conrelid = format('tenancy.%%I', %s::text)::regclass AND c.conname = %s",
            (table, constraint),
        ).fetchone()
    assert row is not None, f"no constraint {constraint} on tenancy.{table}"
    return set(re.findall(r"'([^']*)'::text", row[0]))


@pytest.mark.parametrize(
    ("enum", "table", "constraint"),
    [
        (TenantState, "tenants", "tenants_state_check"),
        (TableState, "ledger", "ledger_state_check"),
        (OnlineState, "online_tenants", "online_tenants_state_check"),
        (PlacementState, "placements", "placements_state_check"),
    ],
)
def test_each_state_enum_is_its_check_constraint(
    db: Database, enum: type[StrEnum], table: str, constraint: str
) -> None:
    assert {s.value for s in enum} == _allowed(db, table, constraint)


def test_an_outcome_that_is_a_ledger_state_is_spelled_as_the_ledger() -> None:
    ledger = {s.value for s in (*TenantState, *PlacementState)}
    # Outcomes the ledger records as a state: spelled the same, so a report and a
    # `SELECT state FROM tenancy.tenants` never disagree on a word.
    assert {"migrated", "syncing", "cut_over", "failed", "provisioned", "distributed"} <= ledger
    for outcome in TenantOutcome:
        if outcome.name in TenantState.__members__ or outcome.name in PlacementState.__members__:
            assert outcome.value in ledger, outcome
    assert not TenantOutcome.FAILED.ok and TenantOutcome.CUT_OVER.ok and TenantOutcome.PLANNED.ok
