"""Run the program under pulumi.runtime.set_mocks and read back what it declared.

Used by tests/infra and tests/policies (the Pulumi CLI and the provider plugin
are not needed). ``declared_facts`` turns the recorded resources into the
privilege rows of runner.privileges / runner.access.drift, so the program can be
compared with the live catalog that the SQL path produced.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.mocks import MockMonitor

from infra.facts import is_secret, plain, resource_facts
from infra.program import Built, Settings, build
from runner.privileges import Privilege

__all__ = ["Declared", "RecordingMocks", "declared_facts", "is_secret", "plain", "run_program"]


@dataclass(frozen=True)
class Declared:
    """One resource the program registered: type token, logical name, inputs."""

    type: str
    name: str
    inputs: dict[str, Any]
    # Logical names of the resources it depends on (depends_on and inputs).
    depends_on: frozenset[str] = frozenset()


class RecordingMocks(Mocks):
    def __init__(self) -> None:
        self.resources: list[Declared] = []
        self.dependencies: dict[str, frozenset[str]] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        deps = self.dependencies.get(args.name, frozenset())
        self.resources.append(Declared(args.typ, args.name, dict(args.inputs), deps))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also hands each resource's dependencies to the mocks."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.recording = mocks

    def RegisterResource(self, request: Any) -> Any:  # the gRPC method's name
        # A URN ends in "::<logical name>".
        self.recording.dependencies[request.name] = frozenset(urn.rsplit("::", 1)[-1] for urn in request.dependencies)
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


def run_program(settings: Settings, stack: str = "test") -> tuple[list[Declared], Built]:
    """Build the program under mocks (preview=False) and wait until every resource registered."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="tenancy", stack=stack, preview=False, monitor=RecordingMonitor(mocks))
    holder: dict[str, Built] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]  # pulumi's decorator has no annotations
    def program() -> pulumi.Output[list[str]]:
        holder["built"] = build(settings)
        return pulumi.Output.all(*[r.urn for r in holder["built"].resources()])

    program()
    return mocks.resources, holder["built"]


def declared_facts(resources: list[Declared]) -> set[Privilege]:
    """Privilege rows, memberships, schema owners and role attributes the program declares."""
    facts: set[Privilege] = set()
    for r in resources:
        facts |= resource_facts(r.type, r.inputs)
    return facts
