"""Citus: distribute tenant schemas over a cluster, show placement, move tenants."""
