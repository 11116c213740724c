-- Drops (or archives) the shared moved tables (tenancy.contract) and returns what it did to each.
SELECT
    table_name,
    action
FROM tenancy.contract(%(archive)s)
