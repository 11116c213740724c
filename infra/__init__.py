"""The Pulumi program of tenancy (Pulumi.yaml: main: infra/). See program.py."""
