-- Brings the row-level security of the shared tables up to date (tenancy.refresh_hybrid_policies): each change.
SELECT
    object_type,
    object_name,
    action
FROM tenancy.refresh_hybrid_policies()
