"""Run the program under pulumi.runtime.set_mocks and read back what it declared.

Used by tests/infra and tests/policies (the Pulumi CLI and the provider plugin
are not needed). ``declared_facts`` turns the recorded resources into the
privilege rows of runner.privileges / runner.grants, so the program can be
compared with the live catalog that the SQL path produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from infra.program import Built, Settings, build
from runner.grants import ATTRIBUTE, OWNER
from runner.privileges import (
    ALL,
    DEFAULT_SEQUENCE,
    DEFAULT_TABLE,
    MEMBER,
    ROLE,
    SCHEMA,
    SEQUENCE,
    TABLE,
    Privilege,
)

# How the Pulumi runtime marks a secret value in resource inputs.
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_MARK = "1b47061264138c4ac30d75fd1eb44270"


@dataclass(frozen=True)
class Declared:
    """One resource the program registered: type token, logical name, inputs."""

    type: str
    name: str
    inputs: dict[str, Any]


class RecordingMocks(Mocks):
    def __init__(self) -> None:
        self.resources: list[Declared] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Declared(args.typ, args.name, dict(args.inputs)))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def run_program(settings: Settings, stack: str = "test") -> tuple[list[Declared], Built]:
    """Build the program under mocks (preview=False) and wait until every resource registered."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="tenancy", stack=stack, preview=False)
    holder: dict[str, Built] = {}

    @pulumi.runtime.test
    def program() -> pulumi.Output[list[str]]:
        holder["built"] = build(settings)
        return pulumi.Output.all(*[r.urn for r in holder["built"].resources()])

    program()
    return mocks.resources, holder["built"]


def plain(value: Any) -> Any:
    """The value of a (possibly secret) input."""
    if isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK:
        return value.get("value")
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_MARK


def declared_facts(resources: list[Declared]) -> set[Privilege]:
    """Privilege rows, memberships, schema owners and role attributes the program declares.

    A Grant without ``objects`` becomes a row for every object (name ALL),
    to be spelled out with runner.privileges.expand against live objects.
    """
    facts: set[Privilege] = set()
    kinds = {"table": TABLE, "sequence": SEQUENCE}
    defaults = {"table": DEFAULT_TABLE, "sequence": DEFAULT_SEQUENCE}
    for r in resources:
        i = {k: plain(v) for k, v in r.inputs.items()}
        if r.type == "postgresql:index/grant:Grant":
            if i["objectType"] == "schema":
                targets = [(SCHEMA, i["schema"])]
            else:
                names = i.get("objects") or [ALL]
                targets = [(kinds[i["objectType"]], n) for n in names]
            for kind, name in targets:
                for priv in i["privileges"]:
                    facts.add(Privilege(i["role"], kind, i["schema"], name, priv))
        elif r.type == "postgresql:index/defaultPrivileges:DefaultPrivileges":
            for priv in i["privileges"]:
                facts.add(
                    Privilege(i["role"], defaults[i["objectType"]], i["schema"], i["owner"], priv)
                )
        elif r.type == "postgresql:index/grantRole:GrantRole":
            facts.add(Privilege(i["role"], ROLE, "", i["grantRole"], MEMBER))
        elif r.type == "postgresql:index/schema:Schema":
            facts.add(Privilege(i["owner"], OWNER, i["name"], "", "OWNER"))
        elif r.type == "postgresql:index/role:Role":
            name = i["name"]
            attrs = [
                "LOGIN" if i.get("login") else "NOLOGIN",
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
            facts |= {Privilege(name, ATTRIBUTE, "", name, a) for a in attrs}
    return facts
