-- tenancy.uninstall_blockers(shared roles): what removing schemas tenancy and
-- tenancy_federation and the given shared roles would break. One row per
-- object: kind 'tenant schema' (a tenant schema the ledger knows: it stays,
-- its ledger goes), 'dependent' (an object outside the tool's schemas that
-- uses one of their objects: dropped with them), 'member' (a role that is a
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
    SELECT 'tenant schema', t.schema_name, format('tenant %s is %s', t.tenant_id, t.state)
    FROM tenancy.tenants AS t
    WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n WHERE n.nspname = t.schema_name)
    ORDER BY t.schema_name;

    RETURN QUERY
    WITH tool AS (
        SELECT n.oid FROM pg_catalog.pg_namespace AS n WHERE n.nspname IN ('tenancy', 'tenancy_federation')
    ),
    tool_objects AS (
        SELECT 'pg_catalog.pg_proc'::regclass AS classid, p.oid AS objid
        FROM pg_catalog.pg_proc AS p WHERE p.pronamespace IN (SELECT tool.oid FROM tool)
        UNION ALL
        SELECT 'pg_catalog.pg_class'::regclass, c.oid
        FROM pg_catalog.pg_class AS c WHERE c.relnamespace IN (SELECT tool.oid FROM tool)
        UNION ALL
        SELECT 'pg_catalog.pg_type'::regclass, y.oid
        FROM pg_catalog.pg_type AS y WHERE y.typnamespace IN (SELECT tool.oid FROM tool)
    ),
    dependents AS (
        SELECT DISTINCT
            d.classid,
            d.objid,
            d.objsubid,
            -- The schema the dependent object lives in (through its table for
            -- triggers, policies, rules, defaults and constraints).
            CASE d.classid
                WHEN 'pg_catalog.pg_proc'::regclass THEN
                    (SELECT p.pronamespace FROM pg_catalog.pg_proc AS p WHERE p.oid = d.objid)
                WHEN 'pg_catalog.pg_class'::regclass THEN
                    (SELECT c.relnamespace FROM pg_catalog.pg_class AS c WHERE c.oid = d.objid)
                WHEN 'pg_catalog.pg_type'::regclass THEN
                    (SELECT y.typnamespace FROM pg_catalog.pg_type AS y WHERE y.oid = d.objid)
                WHEN 'pg_catalog.pg_trigger'::regclass THEN
                    (SELECT c.relnamespace FROM pg_catalog.pg_trigger AS g
                        INNER JOIN pg_catalog.pg_class AS c ON g.tgrelid = c.oid WHERE g.oid = d.objid)
                WHEN 'pg_catalog.pg_policy'::regclass THEN
                    (SELECT c.relnamespace FROM pg_catalog.pg_policy AS o
                        INNER JOIN pg_catalog.pg_class AS c ON o.polrelid = c.oid WHERE o.oid = d.objid)
                WHEN 'pg_catalog.pg_rewrite'::regclass THEN
                    (SELECT c.relnamespace FROM pg_catalog.pg_rewrite AS w
                        INNER JOIN pg_catalog.pg_class AS c ON w.ev_class = c.oid WHERE w.oid = d.objid)
                WHEN 'pg_catalog.pg_attrdef'::regclass THEN
                    (SELECT c.relnamespace FROM pg_catalog.pg_attrdef AS a
                        INNER JOIN pg_catalog.pg_class AS c ON a.adrelid = c.oid WHERE a.oid = d.objid)
                WHEN 'pg_catalog.pg_constraint'::regclass THEN
                    (SELECT k.connamespace FROM pg_catalog.pg_constraint AS k WHERE k.oid = d.objid)
            END AS nspoid
        FROM pg_catalog.pg_depend AS d
        INNER JOIN tool_objects AS o ON d.refclassid = o.classid AND d.refobjid = o.objid
        WHERE d.deptype IN ('n', 'a')
    )
    SELECT 'dependent', pg_catalog.pg_describe_object(x.classid, x.objid, x.objsubid),
           'uses an object of schema tenancy or tenancy_federation'
    FROM dependents AS x
    WHERE x.nspoid IS NULL OR x.nspoid NOT IN (SELECT tool.oid FROM tool)
    ORDER BY 2;

    RETURN QUERY
    SELECT 'member', m.rolname::text, format('member of %s', g.rolname)
    FROM pg_catalog.pg_auth_members AS a
    INNER JOIN pg_catalog.pg_roles AS g ON a.roleid = g.oid
    INNER JOIN pg_catalog.pg_roles AS m ON a.member = m.oid
    WHERE g.rolname = ANY (p_roles) AND NOT m.rolname = ANY (p_roles)
    ORDER BY 2, 3;

    RETURN QUERY
    SELECT 'owned', pg_catalog.pg_describe_object(s.classid, s.objid, s.objsubid), format('owned by %s', r.rolname)
    FROM pg_catalog.pg_shdepend AS s
    INNER JOIN pg_catalog.pg_roles AS r ON s.refobjid = r.oid
    INNER JOIN pg_catalog.pg_database AS b ON s.dbid = b.oid
    WHERE s.refclassid = 'pg_catalog.pg_authid'::regclass
        AND s.deptype = 'o'
        AND b.datname = current_database()
        AND r.rolname = ANY (p_roles)
        -- What lives in the tool's schemas goes with them.
        AND coalesce(
            CASE s.classid
                WHEN 'pg_catalog.pg_namespace'::regclass THEN s.objid
                WHEN 'pg_catalog.pg_proc'::regclass THEN
                    (SELECT p.pronamespace FROM pg_catalog.pg_proc AS p WHERE p.oid = s.objid)
                WHEN 'pg_catalog.pg_class'::regclass THEN
                    (SELECT c.relnamespace FROM pg_catalog.pg_class AS c WHERE c.oid = s.objid)
                WHEN 'pg_catalog.pg_type'::regclass THEN
                    (SELECT y.typnamespace FROM pg_catalog.pg_type AS y WHERE y.oid = s.objid)
            END NOT IN (SELECT n.oid FROM pg_catalog.pg_namespace AS n
                        WHERE n.nspname IN ('tenancy', 'tenancy_federation')),
            true
        )
    ORDER BY 2;
END
$fn$;
COMMENT ON FUNCTION tenancy.uninstall_blockers(text []) IS
'What uninstalling tenancy (its schemas and the given shared roles) would affect: tenant schemas, dependents, members, owned objects.';
REVOKE ALL ON FUNCTION tenancy.uninstall_blockers(text []) FROM PUBLIC;
