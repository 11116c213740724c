"""Cross-tenant reads: the `tenancy federation` commands over the
tenancy_federation SQL functions."""
