"""Pulumi entry point: read the stack config, declare the resources, export per tenant.

Everything is built in infra/program.py, which tests import under
pulumi.runtime.set_mocks.
"""

import sys
from pathlib import Path

# `pulumi up` runs this file directly; make `infra` and `runner` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi

from infra.program import build, settings_from_config

built = build(settings_from_config())
pulumi.export("tenants", built.exports())
pulumi.export("migrator_role", built.model.shared.migrator.name)
