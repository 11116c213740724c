"""The states of the tool, each spelled once.

The ledger's states are those its CHECK constraints allow (sql/ledger/); a test
compares each enum with its constraint (tests/sql/test_states.py). `TenantOutcome` is
what a run reports for a tenant: the ledger state the run left it in, or what
else happened to it (skipped, not run, ...), in the same spelling.
"""

from __future__ import annotations

from enum import StrEnum


class TenantState(StrEnum):
    """tenancy.tenants.state: where a tenant is in the flow."""

    PROVISIONED = "provisioned"
    MIGRATING = "migrating"
    MIGRATED = "migrated"
    FAILED = "failed"
    SYNCING = "syncing"
    CUT_OVER = "cut_over"
    CONTRACTED = "contracted"


class TableState(StrEnum):
    """tenancy.ledger.state: where one tenant table is in its migration."""

    CREATED = "created"
    COPYING = "copying"
    COPIED = "copied"
    INDEXED = "indexed"
    DONE = "done"


class OnlineState(StrEnum):
    """tenancy.online_tenants.state: a tenant in flight."""

    CAPTURING = "capturing"
    CUT_OVER = "cut_over"


class PlacementState(StrEnum):
    """tenancy.placements.state: a tenant schema on Citus."""

    DISTRIBUTED = "distributed"
    MOVED = "moved"


class TenantOutcome(StrEnum):
    """What a run did with a tenant (TenantResult.state, the reports' "state")."""

    # The ledger state the run left the tenant in.
    PROVISIONED = TenantState.PROVISIONED.value
    MIGRATED = TenantState.MIGRATED.value
    SYNCING = TenantState.SYNCING.value
    CUT_OVER = TenantState.CUT_OVER.value
    FAILED = TenantState.FAILED.value
    DISTRIBUTED = PlacementState.DISTRIBUTED.value
    # What else can happen to a tenant in a run.
    SKIPPED = "skipped"  # its work was done by an earlier run
    PLANNED = "planned"  # a dry run: what would be done
    VALIDATED = "validated"  # every check passed
    INVALID = "invalid"  # a check failed
    NOT_MIGRATED = "not migrated"  # nothing to validate: its tables were never migrated
    ROLLED_BACK = "rolled back"  # its tenant tables are gone, its rows in the shared tables
    INTERRUPTED = "interrupted"  # a stop signal cancelled its work; nothing of it was kept
    NOT_RUN = "not run"  # never started: the run stopped first

    @property
    def ok(self) -> bool:
        """Whether the run did what was asked for this tenant (exit code 0)."""
        return self not in _NOT_OK


_NOT_OK = frozenset(
    {
        TenantOutcome.FAILED,
        TenantOutcome.INVALID,
        TenantOutcome.NOT_MIGRATED,
        TenantOutcome.INTERRUPTED,
        TenantOutcome.NOT_RUN,
    }
)
