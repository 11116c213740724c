"""Privilege rows of pulumi-postgresql resources, for the tests and the policy pack.

Turns a resource's inputs (as mocks record them, or as CrossGuard passes them)
into the rows of runner.privileges / runner.access.drift, so declared resources can
be compared with the model and with the live catalog. A Grant without
``objects`` becomes a row for every object of the schema (name ALL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runner.access.drift import ATTRIBUTE, OWNER
from runner.privileges import (
    ALL,
    COLUMN,
    DEFAULT_SEQUENCE,
    DEFAULT_TABLE,
    LOGIN_WITH_CREDENTIAL,
    MEMBER,
    ROLE,
    SCHEMA,
    SEQUENCE,
    TABLE,
    Privilege,
)

ROLE_TYPE = "postgresql:index/role:Role"
SCHEMA_TYPE = "postgresql:index/schema:Schema"
GRANT_TYPE = "postgresql:index/grant:Grant"
DEFAULTS_TYPE = "postgresql:index/defaultPrivileges:DefaultPrivileges"
GRANT_ROLE_TYPE = "postgresql:index/grantRole:GrantRole"
# pulumi-command's local Command; the program's one runs psql to secure the hybrid tables.
COMMAND_TYPE = "command:local:Command"
RLS_FUNCTION_CALL = "tenancy.secure_hybrid_tables()"
# A line of the role-settings command's script (infra.program.role_settings_script).
_ROLE_SETTING_LINE = re.compile(r'^ALTER ROLE "((?:[^"]|"")+)" SET (\w+) = (\d+);$', re.MULTILINE)

# How the Pulumi runtime marks a secret value in serialized inputs.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"

_KINDS = {"table": TABLE, "sequence": SEQUENCE}
# Role inputs that are per-role settings (milliseconds), as pg_db_role_setting names them;
# the program sets any other per-role setting with its role-settings command.
ROLE_SETTINGS = (
    ("statementTimeout", "statement_timeout"),
    ("idleInTransactionSessionTimeout", "idle_in_transaction_session_timeout"),
)
_DEFAULTS = {"table": DEFAULT_TABLE, "sequence": DEFAULT_SEQUENCE}


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_SIG) == SECRET_MARK


def plain(value: Any) -> Any:
    """The value of a (possibly secret) input."""
    return value.get("value") if is_secret(value) else value


def secures_hybrid_tables(resource_type: str, props: Mapping[str, Any]) -> bool:
    """Whether this is a Command whose create calls tenancy.secure_hybrid_tables()."""
    return resource_type == COMMAND_TYPE and RLS_FUNCTION_CALL in str(plain(props.get("create")))


def resource_facts(resource_type: str, props: Mapping[str, Any]) -> set[Privilege]:
    i = {k: plain(v) for k, v in props.items()}
    facts: set[Privilege] = set()
    if resource_type == GRANT_TYPE:
        if i.get("objectType") == "schema":
            targets = [(SCHEMA, i.get("schema", ""))]
        elif i.get("objectType") == "column":
            table = (i.get("objects") or [""])[0]
            targets = [(COLUMN, f"{table}.{c}") for c in i.get("columns") or []]
        else:
            kind = _KINDS.get(str(i.get("objectType")), str(i.get("objectType")))
            targets = [(kind, n) for n in (i.get("objects") or [ALL])]
        for kind, name in targets:
            for priv in i.get("privileges") or []:
                facts.add(Privilege(i.get("role", ""), kind, i.get("schema", ""), name, priv))
    elif resource_type == DEFAULTS_TYPE:
        kind = _DEFAULTS.get(str(i.get("objectType")), f"default {i.get('objectType')}")
        for priv in i.get("privileges") or []:
            facts.add(Privilege(i.get("role", ""), kind, i.get("schema", ""), i.get("owner", ""), priv))
    elif resource_type == GRANT_ROLE_TYPE:
        facts.add(Privilege(i.get("role", ""), ROLE, "", i.get("grantRole", ""), MEMBER))
    elif resource_type == SCHEMA_TYPE:
        facts.add(Privilege(i.get("owner", ""), OWNER, i.get("name", ""), "", "OWNER"))
    elif resource_type == ROLE_TYPE:
        name = i.get("name", "")
        attrs = [
            # A role that logs in with a password: what verify-grants calls LOGIN with a credential.
            (LOGIN_WITH_CREDENTIAL if i.get("password") else "LOGIN") if i.get("login") else "NOLOGIN",
            f"CONNECTION LIMIT {int(i.get('connectionLimit', -1))}",
            "SUPERUSER" if i.get("superuser") else "NOSUPERUSER",
            "CREATEDB" if i.get("createDatabase") else "NOCREATEDB",
            "CREATEROLE" if i.get("createRole") else "NOCREATEROLE",
            "REPLICATION" if i.get("replication") else "NOREPLICATION",
            "BYPASSRLS" if i.get("bypassRowLevelSecurity") else "NOBYPASSRLS",
            "INHERIT" if i.get("inherit", True) else "NOINHERIT",
        ]
        if i.get("searchPaths"):
            attrs.append("search_path=" + ", ".join(i["searchPaths"]))
        for prop, setting in ROLE_SETTINGS:
            if i.get(prop):
                attrs.append(f"{setting}={int(i[prop])}")
        facts |= {Privilege(name, ATTRIBUTE, "", name, a) for a in attrs}
    elif resource_type == COMMAND_TYPE:
        for role, setting, value in _ROLE_SETTING_LINE.findall(str(plain(i.get("create", "")))):
            role = role.replace('""', '"')
            facts.add(Privilege(role, ATTRIBUTE, "", role, f"{setting}={value}"))
    return facts
