-- tenancy.relation_problems(schemas, tables): why reading or writing these
-- relations of these tenant schemas could run code the tenant's owner
-- controls, judged from the catalog and its recorded dependencies. Used for
-- tables tenancy did not make (the application's own tables of a tenant
-- schema, read by the federated functions under a lock:
-- tenancy.readable_tables) and to accept the tables an older version made
-- before they are first stamped; tables tenancy made are proven by their
-- stamps instead (tenancy.unproven_tables), which also catch code that
-- leaves no dependency (query_to_xml() in a CHECK, say).
-- A relation is safe when it and every partition or inheritance child of it
--   is a plain or partitioned table (not a view, foreign table, ...),
--   is owned by the owner of the tenant schema,
--   has no rule, no trigger other than the internal ones of foreign keys, no
--   row-level security policy,
--   and neither it nor its column defaults, constraints, indexes or extended
--   statistics use a function, operator or type that lives outside
--   pg_catalog unless both that object and its schema are owned by a
--   superuser or by the owner of the central schema.
-- Missing relations are not a problem here (callers check existence).
-- Set-based: one read of each catalog for all the schemas (a batch of
-- tenants). Returns one row per problem (schema, table, relation, problem);
-- none when safe. Read-only; raises nothing.
-- The inputs are small (a batch's relations) and the catalogs grow with every
-- tenant: each lookup goes through an index, never a hash of a whole catalog
-- (the planner, misled by the estimates of the CTEs, would hash pg_class,
-- pg_constraint, pg_index and pg_attrdef, which costs what the tenants cost).
CREATE OR REPLACE FUNCTION tenancy.relation_problems(p_schemas text [], p_tables text [])
RETURNS TABLE (schema_name text, table_name text, relation text, problem text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
SET enable_hashjoin = off
SET enable_mergejoin = off
AS $fn$
DECLARE
    v_settings tenancy.settings := tenancy.require_installed();
    v_trusted  oid [];
BEGIN
    -- Owners whose code may run: superusers and the central schema's owner.
    v_trusted := ARRAY(
        SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolsuper
        UNION
        SELECT n.nspowner FROM pg_catalog.pg_namespace AS n WHERE n.nspname = v_settings.central_schema
    );
    RETURN QUERY
    WITH RECURSIVE
    named AS (
        SELECT n.nspname::text AS sch, n.nspowner, t.name::text AS tbl, c.oid AS relid
        FROM unnest(p_schemas) AS s (name)
        JOIN pg_catalog.pg_namespace AS n ON n.nspname = s.name
        CROSS JOIN unnest(p_tables) AS t (name)
        JOIN pg_catalog.pg_class AS c ON c.relname = t.name AND c.relnamespace = n.oid
    ),
    rels AS (
        SELECT d.sch, d.nspowner, d.tbl, d.relid FROM named AS d
        UNION
        SELECT r.sch, r.nspowner, r.tbl, i.inhrelid FROM rels AS r
        JOIN pg_catalog.pg_inherits AS i ON i.inhparent = r.relid
    ),
    facts AS (
        SELECT r.sch, r.tbl, r.relid, c.relkind, c.relowner, r.nspowner
        FROM rels AS r
        JOIN pg_catalog.pg_class AS c ON c.oid = r.relid
    ),
    -- The relation and what is attached to it: code in any of them runs on access.
    attached AS (
        SELECT f.sch, f.tbl, f.relid, 'pg_catalog.pg_class'::regclass AS classid, f.relid AS objid
        FROM facts AS f
        UNION ALL
        SELECT f.sch, f.tbl, f.relid, 'pg_catalog.pg_attrdef'::regclass, a.oid
        FROM facts AS f JOIN pg_catalog.pg_attrdef AS a ON a.adrelid = f.relid
        UNION ALL
        SELECT f.sch, f.tbl, f.relid, 'pg_catalog.pg_constraint'::regclass, k.oid
        FROM facts AS f JOIN pg_catalog.pg_constraint AS k ON k.conrelid = f.relid
        UNION ALL
        SELECT f.sch, f.tbl, f.relid, 'pg_catalog.pg_class'::regclass, x.indexrelid
        FROM facts AS f JOIN pg_catalog.pg_index AS x ON x.indrelid = f.relid
        UNION ALL
        SELECT f.sch, f.tbl, f.relid, 'pg_catalog.pg_statistic_ext'::regclass, s.oid
        FROM facts AS f JOIN pg_catalog.pg_statistic_ext AS s ON s.stxrelid = f.relid
    ),
    code AS (
        SELECT a.sch, a.tbl, a.relid, d.refclassid, d.refobjid,
               coalesce(p.pronamespace, o.oprnamespace, y.typnamespace) AS ns,
               coalesce(p.proowner, o.oprowner, y.typowner) AS owner
        FROM attached AS a
        JOIN pg_catalog.pg_depend AS d ON d.classid = a.classid AND d.objid = a.objid
        LEFT JOIN pg_catalog.pg_proc AS p
            ON d.refclassid = 'pg_catalog.pg_proc'::regclass AND p.oid = d.refobjid
        LEFT JOIN pg_catalog.pg_operator AS o
            ON d.refclassid = 'pg_catalog.pg_operator'::regclass AND o.oid = d.refobjid
        LEFT JOIN pg_catalog.pg_type AS y
            ON d.refclassid = 'pg_catalog.pg_type'::regclass AND y.oid = d.refobjid
        WHERE d.refclassid IN ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_operator'::regclass,
                               'pg_catalog.pg_type'::regclass)
    ),
    untrusted AS (
        SELECT c.sch, c.tbl, c.relid, c.refclassid, c.refobjid
        FROM code AS c
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.ns
        WHERE c.ns <> 'pg_catalog'::regnamespace
            AND NOT (c.owner = ANY (v_trusted) AND n.nspowner = ANY (v_trusted))
    )
    SELECT f.sch, f.tbl, f.relid::regclass::text,
           format('is a %s, not a table',
                  CASE f.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                      WHEN 'f' THEN 'foreign table' WHEN 'S' THEN 'sequence' ELSE 'relation of kind ' || f.relkind::text END)
    FROM facts AS f WHERE f.relkind NOT IN ('r', 'p')
    UNION ALL
    SELECT f.sch, f.tbl, f.relid::regclass::text,
           format('is owned by %s, not by the schema owner %s', f.relowner::regrole, f.nspowner::regrole)
    FROM facts AS f WHERE f.relowner <> f.nspowner
    UNION ALL
    SELECT f.sch, f.tbl, f.relid::regclass::text, format('has rule %I', w.rulename)
    FROM facts AS f JOIN pg_catalog.pg_rewrite AS w ON w.ev_class = f.relid
    UNION ALL
    SELECT f.sch, f.tbl, f.relid::regclass::text, format('has trigger %I', g.tgname)
    FROM facts AS f JOIN pg_catalog.pg_trigger AS g ON g.tgrelid = f.relid AND NOT g.tgisinternal
    UNION ALL
    SELECT f.sch, f.tbl, f.relid::regclass::text, format('has row-level security policy %I', p.polname)
    FROM facts AS f JOIN pg_catalog.pg_policy AS p ON p.polrelid = f.relid
    UNION ALL
    SELECT DISTINCT u.sch, u.tbl, u.relid::regclass::text,
           format('uses %s %s, which the tenant may control',
                  CASE u.refclassid WHEN 'pg_catalog.pg_proc'::regclass THEN 'function'
                      WHEN 'pg_catalog.pg_operator'::regclass THEN 'operator' ELSE 'type' END,
                  CASE u.refclassid WHEN 'pg_catalog.pg_proc'::regclass THEN u.refobjid::regprocedure::text
                      WHEN 'pg_catalog.pg_operator'::regclass THEN u.refobjid::regoperator::text
                      ELSE u.refobjid::regtype::text END)
    FROM untrusted AS u
    ORDER BY 1, 2, 3, 4;
END
$fn$;
COMMENT ON FUNCTION tenancy.relation_problems(text [], text []) IS
'Why touching these relations of these tenant schemas could run tenant-controlled code (view, owner, rule, '
'trigger, policy, untrusted function/operator/type); one row per problem, none when safe.';
-- The federated reads (owned by tenancy_federation_owner) call it, through tenancy.readable_tables.
GRANT EXECUTE ON FUNCTION tenancy.relation_problems(text [], text []) TO tenancy_federation_owner;
