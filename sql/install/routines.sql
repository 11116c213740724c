-- The tool's routines (every function and procedure in schemas tenancy and
-- tenancy_federation): identity, a digest of the definition, whether the
-- current transaction (re)created it, and the objects outside those routines
-- that depend on it (triggers, views, policies, defaults...).
-- Read before and after an install to tell what was added, replaced, dropped.
SELECT
    p.oid::regprocedure::text AS identity,
    md5(
        CASE
            WHEN p.prokind = 'a' THEN p.oid::regprocedure::text
            ELSE pg_catalog.pg_get_functiondef(p.oid)
        END
    ) AS digest,
    p.xmin = pg_catalog.pg_current_xact_id()::xid AS created_now,
    array(
        SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
        FROM pg_catalog.pg_depend AS d
        WHERE
            d.refclassid = 'pg_catalog.pg_proc'::regclass
            AND d.refobjid = p.oid
            AND d.deptype IN ('n', 'a')
            AND NOT (
                d.classid = 'pg_catalog.pg_proc'::regclass
                AND d.objid IN (
                    SELECT q.oid
                    FROM pg_catalog.pg_proc AS q
                    INNER JOIN pg_catalog.pg_namespace AS m ON q.pronamespace = m.oid
                    WHERE m.nspname IN ('tenancy', 'tenancy_federation')
                )
            )
        ORDER BY 1
    ) AS dependents
FROM pg_catalog.pg_proc AS p
INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
WHERE n.nspname IN ('tenancy', 'tenancy_federation')
ORDER BY 1;
