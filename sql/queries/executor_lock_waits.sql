-- The locks the given backends wait for, each with the pids that hold it (tenancy.lock_waits).
SELECT
    pid,
    target,
    mode,
    held_by
FROM tenancy.lock_waits(%(pids)s)
