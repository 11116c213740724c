"""Who may do what: the privilege model derived from the manifest (model) and
the comparison of the live catalog with it (drift, `tenancy verify-grants`)."""
