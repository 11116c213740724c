-- pg_temp.tenancy_routines(): the tool's routines (every function and
-- procedure in schemas tenancy and tenancy_federation), for `tenancy install`
-- in its own session: identity, a digest of the definition, whether the
-- current transaction (re)created it, and the objects outside those routines
-- that depend on it (triggers, views, policies, defaults...).
-- Session-local (pg_temp), so it is no part of what the install creates.
CREATE OR REPLACE FUNCTION pg_temp.tenancy_routines()
RETURNS TABLE (routine regprocedure, identity text, digest text, created_now boolean, dependents text [])
LANGUAGE sql
STABLE
AS $fn$
    WITH tool AS (
        SELECT p.oid, p.prokind
        FROM pg_catalog.pg_proc AS p
        INNER JOIN pg_catalog.pg_namespace AS n ON p.pronamespace = n.oid
        WHERE n.nspname IN ('tenancy', 'tenancy_federation')
    )
    SELECT
        t.oid::regprocedure,
        t.oid::regprocedure::text,
        md5(
            CASE
                WHEN t.prokind = 'a' THEN t.oid::regprocedure::text
                ELSE pg_catalog.pg_get_functiondef(t.oid)
            END
        ),
        (SELECT p.xmin FROM pg_catalog.pg_proc AS p WHERE p.oid = t.oid) = pg_catalog.pg_current_xact_id()::xid,
        array(
            SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
            FROM pg_catalog.pg_depend AS d
            WHERE
                d.refclassid = 'pg_catalog.pg_proc'::regclass
                AND d.refobjid = t.oid
                AND d.deptype IN ('n', 'a')
                AND NOT (d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid IN (SELECT tool.oid FROM tool))
            ORDER BY 1
        )
    FROM tool AS t
    ORDER BY 2
$fn$;
