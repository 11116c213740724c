-- tenancy.uninstall_blockers(shared roles): what removing schemas tenancy and
-- tenancy_federation and the given shared roles would break. One row per
-- object: kind 'tenant schema' (a tenant schema the ledger knows: it stays,
-- its ledger goes), 'dependent' (an object outside the tool's schemas that
-- uses one of their objects: dropped with them; not the tool's own capture
-- triggers, nor its row-level security policies for the shared roles only,
-- which go with it), 'member' (a role that is a
-- member of a shared role: it loses what that role grants), or 'owned' (an
-- object outside the tool's schemas owned by a shared role: never dropped,
-- so uninstall refuses until its owner changes). Read-only.
CREATE OR REPLACE FUNCTION tenancy.uninstall_blockers(p_roles text [])
RETURNS TABLE (kind text, object_name text, reason text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN QUERY
    WITH tool AS (
        SELECT n.oid FROM pg_catalog.pg_namespace AS n WHERE n.nspname IN ('tenancy', 'tenancy_federation')
    ),
    -- Catalog objects with the schema they live in (through their table for
    -- triggers, policies, rules and defaults).
    located AS (
        SELECT 'pg_catalog.pg_namespace'::regclass AS classid, n.oid AS objid, n.oid AS nspoid
        FROM pg_catalog.pg_namespace AS n
        UNION ALL
        SELECT 'pg_catalog.pg_proc'::regclass, p.oid, p.pronamespace FROM pg_catalog.pg_proc AS p
        UNION ALL
        SELECT 'pg_catalog.pg_class'::regclass, c.oid, c.relnamespace FROM pg_catalog.pg_class AS c
        UNION ALL
        SELECT 'pg_catalog.pg_type'::regclass, y.oid, y.typnamespace FROM pg_catalog.pg_type AS y
        UNION ALL
        SELECT 'pg_catalog.pg_constraint'::regclass, k.oid, k.connamespace FROM pg_catalog.pg_constraint AS k
        UNION ALL
        SELECT 'pg_catalog.pg_trigger'::regclass, g.oid, c.relnamespace
        FROM pg_catalog.pg_trigger AS g INNER JOIN pg_catalog.pg_class AS c ON g.tgrelid = c.oid
        UNION ALL
        SELECT 'pg_catalog.pg_policy'::regclass, o.oid, c.relnamespace
        FROM pg_catalog.pg_policy AS o INNER JOIN pg_catalog.pg_class AS c ON o.polrelid = c.oid
        UNION ALL
        SELECT 'pg_catalog.pg_rewrite'::regclass, w.oid, c.relnamespace
        FROM pg_catalog.pg_rewrite AS w INNER JOIN pg_catalog.pg_class AS c ON w.ev_class = c.oid
        UNION ALL
        SELECT 'pg_catalog.pg_attrdef'::regclass, a.oid, c.relnamespace
        FROM pg_catalog.pg_attrdef AS a INNER JOIN pg_catalog.pg_class AS c ON a.adrelid = c.oid
    ),
    found AS (
        SELECT 1 AS rank, 'tenant schema' AS kind, t.schema_name AS object_name,
               format('tenant %s is %s', t.tenant_id, t.state) AS reason
        FROM tenancy.tenants AS t
        WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n WHERE n.nspname = t.schema_name)
        UNION ALL
        SELECT DISTINCT 2, 'dependent', pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid),
               'uses an object of schema tenancy or tenancy_federation'
        FROM pg_catalog.pg_depend AS d
        INNER JOIN located AS r ON d.refclassid = r.classid AND d.refobjid = r.objid
        LEFT JOIN located AS l ON d.classid = l.classid AND d.objid = l.objid
        WHERE d.deptype IN ('n', 'a')
            AND r.nspoid IN (SELECT tool.oid FROM tool)
            AND l.nspoid IS DISTINCT FROM r.nspoid
            AND (l.nspoid IS NULL OR l.nspoid NOT IN (SELECT tool.oid FROM tool))
            -- The change-capture triggers on the shared tables are the tool's own: they go with it.
            AND NOT (d.classid = 'pg_catalog.pg_trigger'::regclass AND EXISTS (
                SELECT 1 FROM pg_catalog.pg_trigger AS g
                WHERE g.oid = d.objid AND g.tgname IN ('tenancy_capture', 'tenancy_capture_truncate')
            ))
            -- So are the row-level security policies that call its lookups for the shared
            -- roles only: they would go with those roles anyway.
            AND NOT (d.classid = 'pg_catalog.pg_policy'::regclass AND EXISTS (
                SELECT 1 FROM pg_catalog.pg_policy AS o
                WHERE o.oid = d.objid AND o.polname LIKE 'tenancy\_%'
                    AND NOT EXISTS (SELECT 1 FROM unnest(o.polroles) AS x (oid)
                                    WHERE x.oid = 0 OR NOT pg_catalog.pg_get_userbyid(x.oid) = ANY (p_roles))
            ))
        UNION ALL
        SELECT 3, 'member', m.rolname::text, format('member of %s', g.rolname)
        FROM pg_catalog.pg_auth_members AS a
        INNER JOIN pg_catalog.pg_roles AS g ON a.roleid = g.oid
        INNER JOIN pg_catalog.pg_roles AS m ON a.member = m.oid
        WHERE g.rolname = ANY (p_roles) AND NOT m.rolname = ANY (p_roles)
        UNION ALL
        SELECT 4, 'owned', pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid),
               format('owned by %s', r.rolname)
        FROM pg_catalog.pg_shdepend AS s
        INNER JOIN pg_catalog.pg_roles AS r ON s.refobjid = r.oid
        INNER JOIN pg_catalog.pg_database AS b ON s.dbid = b.oid
        LEFT JOIN located AS l ON s.classid = l.classid AND s.objid = l.objid
        WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass
            AND s.deptype = 'o'
            AND b.datname = current_database()
            AND r.rolname = ANY (p_roles)
            -- What lives in the tool's schemas goes with them.
            AND (l.nspoid IS NULL OR l.nspoid NOT IN (SELECT tool.oid FROM tool))
    )
    SELECT f.kind, f.object_name, f.reason FROM found AS f ORDER BY f.rank, f.object_name, f.reason;
END
$fn$;
COMMENT ON FUNCTION tenancy.uninstall_blockers(text []) IS
'What uninstalling tenancy (its schemas and the given shared roles) would affect: tenant schemas, dependents, members, owned objects.';
REVOKE ALL ON FUNCTION tenancy.uninstall_blockers(text []) FROM PUBLIC;
