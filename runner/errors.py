"""Errors a user can cause, and the SQLSTATEs the SQL functions raise.

Only the CLI boundary catches :class:`TenancyError`; it prints ``FAILED:`` with
the hint and exits non-zero. Anything else keeps its traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg


@dataclass(frozen=True)
class ErrorCode:
    """One SQLSTATE of the class TY: what happened, and the fix. README's error table
    and tenancy.error_codes() are made of these (tests/test_errors.py)."""

    meaning: str
    hint: str


# The project's SQLSTATE class is "TY". Every code the SQL functions raise is
# here; the runner maps each to an exception type, install renders them into
# tenancy.error_codes() and tenancy.error_hint() (sql/templates/error_catalogue.sql.j2).
CATALOGUE: dict[str, ErrorCode] = {
    "TY001": ErrorCode(
        "invalid tenant id",
        "Use lowercase letters, digits, '_' or '-', at most the length the schema pattern allows.",
    ),
    "TY002": ErrorCode(
        "unknown tenant (not in the registry)",
        "Check the id against the tenant registry table named in the manifest.",
    ),
    "TY003": ErrorCode(
        "preflight failed: rows the tenant tables would refuse, or rows with no tenant",
        "Fix the rows listed in DETAIL (or run `tenancy migrate --dry-run`), then re-run.",
    ),
    "TY004": ErrorCode(
        "tenant busy: another session holds its lock",
        "Another session holds this tenant's migration lock; wait for it or stop it.",
    ),
    "TY005": ErrorCode(
        "tenancy not installed",
        "Run `tenancy install` (or install a matching version) first.",
    ),
    "TY007": ErrorCode(
        "target conflict: a table of that name already exists in the tenant schema",
        "A table of that name already exists in the tenant schema and was not created by tenancy.",
    ),
    "TY008": ErrorCode(
        "wrong state for this step (e.g. rollback after cutover)",
        "The tenant is not in a state that allows this step; see `tenancy status`.",
    ),
    "TY009": ErrorCode(
        "a table that stays central has an FK into a moved table",
        "A table that stays central has a foreign key into a moved table; drop or move it first.",
    ),
    "TY010": ErrorCode(
        "a copy does not match its source (rows changed during the copy)",
        "The shared rows changed during the copy. Stop writes, roll back the tenant, migrate again.",
    ),
    "TY020": ErrorCode(
        "upgrade conflict: the new version no longer defines a routine that a trigger or view uses",
        "The new version no longer defines a routine that a trigger or view uses; drop that object first.",
    ),
    "TY030": ErrorCode(
        "schema name shared: two tenant ids map to one schema name (`ab-1`, `ab_1`); both are refused, the run goes on",
        "Two tenant ids map to one schema name (`ab-1`, `ab_1`); give one of them another id.",
    ),
    "TY060": ErrorCode(
        "the tenant is not provisioned and the caller cannot create roles",
        "Provisioning creates roles: run `tenancy provision` as an administrator first.",
    ),
    "TY080": ErrorCode(
        "not a moved table (a per-table function was given another table)",
        "Name a table listed in tenancy.moved_tables (the manifest's [move] tables).",
    ),
    "TY081": ErrorCode(
        "a server setting is too low for the run (checked before it starts)",
        "Raise the server setting named in the message (postgresql.conf, then restart).",
    ),
    # Raised and caught inside the federation functions (a block that ends in it
    # releases its locks); never reaches a caller.
    "TY089": ErrorCode(
        "internal to the federation functions (releases their locks); never reaches a caller",
        "Not an error a caller sees; report it if one does.",
    ),
    "TY040": ErrorCode(
        "a tenant table is not what tenancy made (a view, another owner, a trigger, rule, policy, default, CHECK or index expression added since)",
        "A tenant table is not what tenancy made (a view, another owner, an object added since); restore it or roll the tenant back, then re-run.",
    ),
    # Citus (sql/citus/, runner/citus/).
    "TY070": ErrorCode(
        "not a Citus coordinator (no citus extension, or not registered)",
        "Connect to the Citus coordinator (citus extension, citus_set_coordinator_host).",
    ),
    "TY071": ErrorCode(
        "no active Citus worker that takes shards, or an inactive one",
        "Add or activate workers (citus_add_node, citus_activate_node), then re-run.",
    ),
    "TY072": ErrorCode(
        "the table named to become a reference table does not exist or is distributed",
        "Name a plain table of the central schema.",
    ),
    "TY073": ErrorCode(
        "a distributed copy differs from the local tables (rolled back)",
        "Nothing changed (rolled back); check the worker's log, then re-run.",
    ),
    "TY074": ErrorCode(
        "the tenant is not distributed",
        "Run `tenancy distribute --tenant <id>` first; see `tenancy placement`.",
    ),
    "TY075": ErrorCode(
        "the move target is not an active worker",
        "Give HOST:PORT of an active worker exactly as `tenancy placement` shows it.",
    ),
    "TY076": ErrorCode(
        "copying a sequence's grants to a worker failed",
        "Check that the role exists on every worker, then run `tenancy distribute` again.",
    ),
    # Online mode (capture, cutover, contract, rollback after cutover).
    "TY050": ErrorCode(
        "a statement reached a cut-over tenant's shared rows (a read included)",
        "Every statement on a cut-over tenant's shared rows is refused; switch that tenant to its schema and retry.",
    ),
    "TY051": ErrorCode(
        "online mode replays writes by primary key, and a moved table has none (DETAIL: each, partitioned or not)",
        "Online mode replays writes by primary key: add one (on a partitioned table, with the partition key), keep the table shared ([hybrid]), or migrate offline.",
    ),
    "TY052": ErrorCode(
        "copy or replay outside a REPEATABLE READ transaction",
        "Run the copy or replay in a REPEATABLE READ transaction.",
    ),
    "TY053": ErrorCode(
        "rollback refused: the tenant tables hold writes the shared tables lack",
        "The tenant tables hold rows the shared tables do not; copy them back or roll back with --force.",
    ),
    "TY054": ErrorCode(
        "rollback after cutover: a key written in the tenant schema is taken in the shared table",
        "Rows written after cutover take keys the shared table holds; re-key or delete them.",
    ),
    "TY055": ErrorCode(
        "contract refused: not every tenant is cut over (listed)",
        "Cut over every tenant before contract.",
    ),
    "TY056": ErrorCode(
        "the shared tables were contracted",
        "The shared tables were contracted: restore them (archive or backup) before a rollback.",
    ),
    "TY057": ErrorCode(
        "writers of the shared tables did not end in time",
        "Transactions writing the shared tables did not end in time; end them and re-run.",
    ),
    "TY058": ErrorCode(
        "TRUNCATE of a shared table while tenants are in flight",
        "TRUNCATE would escape the capture while tenants are migrated online; delete rows instead.",
    ),
    "TY059": ErrorCode(
        "an install would stop the capture while tenants are in flight",
        "That install would stop the change capture while tenants are in flight; finish them first.",
    ),
    "TY061": ErrorCode(
        "contract: a shared table is owned by a role contract does not run as",
        "Contract runs as the owner of the moved tables: give them one owner, then `tenancy install` again.",
    ),
    "TY062": ErrorCode(
        "contract: the archive schema exists and is not the shared tables' owner's alone, or it may not create it",
        "Name a new schema for --archive, or one that only the shared tables' owner may create in.",
    ),
    "TY063": ErrorCode(
        "contract: objects outside tenancy depend on a shared table (listed)",
        "Objects outside tenancy depend on a shared table: drop them, or contract with --archive.",
    ),
}


class TenancyError(Exception):
    """Base for every error the user can cause; carries a hint for the fix."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None, detail: str | None = None):
        super().__init__(message)
        if hint is not None:
            self.hint = hint
        self.detail = detail


class ManifestError(TenancyError):
    """The manifest cannot be read or says something impossible."""


class RenderError(TenancyError):
    """A moved table's shape cannot be rewritten without its tenant key."""


class ConnectionConfigError(TenancyError):
    """No usable database to talk to."""


class UninstallRefused(TenancyError):
    """Something still depends on what `tenancy uninstall` would remove."""


class MissingExtra(TenancyError):
    """A command needs an optional part of the package that is not installed."""


class ReportPathError(TenancyError):
    """A --report path that cannot be written (checked before any work)."""


class ReadOnlyDatabase(TenancyError):
    """A command that writes was pointed at a read-only database (checked before any work)."""


class RegistryMissing(TenancyError):
    """The registry table, or its id column, recorded at install is not there any more."""


class NotConfirmed(TenancyError):
    """A destructive step was neither confirmed with --yes nor on a terminal."""


class InvalidArgument(TenancyError):
    """A value the SQL functions refused as an argument (SQLSTATE 22023), e.g. an archive schema name."""


class DatabaseError(TenancyError):
    """A project SQLSTATE raised by the SQL functions."""

    sqlstate: str = ""


class InvalidTenantId(DatabaseError):
    sqlstate = "TY001"


class UnknownTenant(DatabaseError):
    sqlstate = "TY002"


class PreflightFailed(DatabaseError):
    sqlstate = "TY003"


class TenantBusy(DatabaseError):
    sqlstate = "TY004"


class NotInstalled(DatabaseError):
    sqlstate = "TY005"


class TargetConflict(DatabaseError):
    sqlstate = "TY007"


class WrongState(DatabaseError):
    sqlstate = "TY008"


class CentralReference(DatabaseError):
    sqlstate = "TY009"


class CopyMismatch(DatabaseError):
    sqlstate = "TY010"


class UpgradeConflict(DatabaseError):
    sqlstate = "TY020"


class SchemaNameShared(DatabaseError):
    sqlstate = "TY030"


class NotMovedTable(DatabaseError):
    sqlstate = "TY080"


class SettingTooLow(DatabaseError):
    sqlstate = "TY081"


class NeedsAdministrator(DatabaseError):
    sqlstate = "TY060"


class UnsafeTenantTable(DatabaseError):
    """A tenant relation could run code its owner controls; the tool refused to touch it."""

    sqlstate = "TY040"


class CitusUnavailable(DatabaseError):
    sqlstate = "TY070"


class CitusNoWorkers(DatabaseError):
    sqlstate = "TY071"


class ReferenceRefused(DatabaseError):
    sqlstate = "TY072"


class DistributedCopyMismatch(DatabaseError):
    sqlstate = "TY073"


class NotDistributed(DatabaseError):
    sqlstate = "TY074"


class UnknownWorker(DatabaseError):
    sqlstate = "TY075"


class WorkerGrantFailed(DatabaseError):
    sqlstate = "TY076"


class TenantCutOver(DatabaseError):
    sqlstate = "TY050"


class NotCapturable(DatabaseError):
    sqlstate = "TY051"


class NeedsSnapshot(DatabaseError):
    sqlstate = "TY052"


class TenantOnlyWrites(DatabaseError):
    sqlstate = "TY053"


class KeyCollision(DatabaseError):
    sqlstate = "TY054"


class NotAllCutOver(DatabaseError):
    sqlstate = "TY055"


class Contracted(DatabaseError):
    sqlstate = "TY056"


class WritersStillOpen(DatabaseError):
    sqlstate = "TY057"


class TruncateRefused(DatabaseError):
    sqlstate = "TY058"


class CaptureLost(DatabaseError):
    sqlstate = "TY059"


class SharedTableOwner(DatabaseError):
    sqlstate = "TY061"


class ArchiveSchemaRefused(DatabaseError):
    sqlstate = "TY062"


class SharedTableInUse(DatabaseError):
    sqlstate = "TY063"


_BY_SQLSTATE: dict[str, type[DatabaseError]] = {
    cls.sqlstate: cls
    for cls in (
        InvalidTenantId,
        UnknownTenant,
        PreflightFailed,
        TenantBusy,
        NotInstalled,
        TargetConflict,
        WrongState,
        CentralReference,
        CopyMismatch,
        UpgradeConflict,
        SchemaNameShared,
        NotMovedTable,
        SettingTooLow,
        NeedsAdministrator,
        UnsafeTenantTable,
        CitusUnavailable,
        CitusNoWorkers,
        ReferenceRefused,
        DistributedCopyMismatch,
        NotDistributed,
        UnknownWorker,
        WorkerGrantFailed,
        TenantCutOver,
        NotCapturable,
        NeedsSnapshot,
        TenantOnlyWrites,
        KeyCollision,
        NotAllCutOver,
        Contracted,
        WritersStillOpen,
        TruncateRefused,
        CaptureLost,
        SharedTableOwner,
        ArchiveSchemaRefused,
        SharedTableInUse,
    )
}


def from_psycopg(exc: psycopg.Error) -> Exception:
    """Map a project SQLSTATE to its typed error; return other errors unchanged."""
    state = exc.sqlstate or ""
    cls = _BY_SQLSTATE.get(state)
    if cls is None:
        return exc
    diag = exc.diag
    err = cls(
        diag.message_primary or str(exc),
        hint=diag.message_hint or CATALOGUE[state].hint,
        detail=diag.message_detail,
    )
    err.__cause__ = exc
    return err


class ServerUnavailable(TenancyError):
    """The server went away (or refuses connections) in the middle of a run."""

    hint = "Check that the server is running and reachable, then re-run: the ledger resumes where it stopped."


# Errors PostgreSQL raises that are not the tool's own: what they mean for the
# tenant whose work they stopped, and what to do. Keyed by SQLSTATE, then class.
_FOREIGN_HINTS: dict[str, str] = {
    "55P03": "Another session held a lock for longer than the lock timeout (the wait is reported above); "
    "let it finish or raise --lock-timeout, then re-run.",
    "57014": "The statement was cancelled (statement_timeout, or a stop signal); re-run to resume.",
    "42501": "A privilege is missing: install grants tenancy_migrator the entry points and the engine what "
    "it touches, provisioning (an administrator) the rest; run `tenancy verify-grants` "
    "(docs/privileges-runner.md).",
    "25006": "The database is read-only (default_transaction_read_only = on, or a standby): connect to a "
    "writable primary, or turn the setting off for this database or role.",
    "40P01": "Deadlock with another session; re-run.",
    "40001": "Serialization failure; re-run.",
    "57P01": "The server ended this session (pg_terminate_backend, a restart or a shutdown); re-run to resume.",
    "57P02": "The server crashed or restarted; re-run to resume.",
    "57P03": "The server is starting up or shutting down; re-run once it accepts connections.",
    "08": "The connection to the server was lost; re-run to resume.",
}
_DEFAULT_HINT = "Unexpected error from PostgreSQL; re-run with --traceback to see where it came from."


def hint_for(sqlstate: str | None) -> str:
    """The hint for an error PostgreSQL raised that is not a tool SQLSTATE."""
    state = sqlstate or ""
    return _FOREIGN_HINTS.get(state) or _FOREIGN_HINTS.get(state[:2]) or _DEFAULT_HINT
