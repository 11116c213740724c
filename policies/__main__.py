"""Policy pack entry point: `pulumi preview --policy-pack policies`. Rules are in rules.py.

Importing this module starts the policy server, so tests import policies.rules.
"""

import sys
from pathlib import Path

# The pack runs this file directly; make `policies`, `infra` and `runner` importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack

from policies.rules import POLICIES

PolicyPack(name="tenancy", policies=POLICIES)
