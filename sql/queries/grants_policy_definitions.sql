-- verify-grants: the row-level security policies that are current, as tenancy.hybrid_policies()
-- tells: made by tenancy.secure_hybrid_tables() from this manifest and unchanged since.
SELECT
    h.table_name,
    h.policy_name
FROM tenancy.hybrid_policies() AS h
WHERE h.current;
