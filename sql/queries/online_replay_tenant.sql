-- Replays the next logged changes of a syncing tenant, at most max_changes (tenancy.replay_tenant): how many it applied.
SELECT applied
FROM tenancy.replay_tenant(%(tenant)s, %(max_changes)s)
