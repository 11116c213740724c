-- A tenant's moved tables as the ledger has them after a batched migration, in [move] order.
-- sqlfluff:templater:placeholder:tenant:'x'
SELECT
    l.table_name,
    l.state,
    l.rows_copied,
    l.copy_seconds AS seconds,
    'migrated' AS action
FROM tenancy.ledger AS l
INNER JOIN tenancy.moved_tables AS m ON l.table_name = m.table_name
WHERE l.tenant_id = %(tenant)s
ORDER BY m.position
