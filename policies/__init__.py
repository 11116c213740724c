"""The tenancy CrossGuard policy pack (PulumiPolicy.yaml). Rules are in rules.py."""
