-- The moved tables --batch-size copies in one statement (no primary key, not one row per tenant), in [move] order.
SELECT table_name
FROM tenancy.moved_tables
WHERE NOT batchable AND NOT captured
ORDER BY position
