"""The migration engine: read the catalog, derive and render tenant tables,
install schema `tenancy`, and run migrate / validate per tenant."""
