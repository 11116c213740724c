-- The last events of tenancy.history, newest first: of the given tenants and the runs that named them, or of one command.
SELECT
    h.id,
    h.at,
    h."session_user",
    h.command,
    h.tenant_id,
    h.outcome,
    h.detail
FROM tenancy.history AS h
WHERE (%(tenants)s::text [] IS NULL OR h.tenant_id = any(%(tenants)s)
       OR h.detail -> 'options' -> '--tenant' ?| %(tenants)s)
    AND (h.tenant_id IS NULL OR h.tenant_id <> all(%(exclude)s))
    AND (%(command)s::text IS NULL OR split_part(h.command, ' ', 1) = %(command)s)
ORDER BY h.id DESC
LIMIT %(most)s
