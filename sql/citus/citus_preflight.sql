-- tenancy.citus_preflight(tenant ids, tables to make reference): everything
-- that would make tenancy.citus_distribute_tenant fail or do something the
-- user did not agree to, found before anything changes. One row per problem:
-- severity 'error' (distribute refuses) or 'warning' (it proceeds), the
-- object, what is wrong and the fix. No rows: ready. Read-only.
-- Checks: the cluster (TY070/TY071 raised by citus_require); per tenant its
-- state, foreign tables, inheritance, extension-owned tables, Citus tables of
-- another kind, foreign keys leaving the schema to tables that are neither
-- reference tables nor given in p_make_reference, foreign keys into the
-- schema, column types and default functions of an extension missing on a
-- worker, serial columns narrower than bigint; per table to make reference:
-- that it exists, and that no table Citus would convert with it (its foreign
-- key graph) has a row-level security policy with a subquery, which Citus
-- refuses on every table it manages, or a RESTRICTIVE one, which Citus
-- re-creates as PERMISSIVE (a limit would become a grant); and for each
-- table to make reference whose policies call functions (they run on the
-- workers then, where a function cannot read the coordinator's tables): an
-- error when such a policy governs writes, a warning for read policies.
CREATE OR REPLACE FUNCTION tenancy.citus_preflight(p_tenant_ids text [], p_make_reference text [] DEFAULT '{}')
RETURNS TABLE (tenant_id text, object_name text, severity text, problem text, hint text)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_settings  tenancy.settings := tenancy.require_installed();
    v_tenant    text;
    v_schema    text;
    v_nsp       oid;
    v_state     text;
    v_refs      oid [] := '{}';
    v_name      text;
    v_rel       regclass;
    v_row       record;
BEGIN
    PERFORM tenancy.citus_require();

    FOREACH v_name IN ARRAY coalesce(p_make_reference, '{}') LOOP
        v_rel := to_regclass(format('%I.%I', v_settings.central_schema, v_name));
        IF v_rel IS NULL THEN
            tenant_id := NULL; object_name := format('%I.%I', v_settings.central_schema, v_name); severity := 'error';
            problem := 'no such table to make a reference table';
            hint := format('Name a table of schema %I (without the schema).', v_settings.central_schema);
            RETURN NEXT;
        ELSE
            v_refs := v_refs || v_rel::oid;
        END IF;
    END LOOP;

    FOREACH v_tenant IN ARRAY p_tenant_ids LOOP
        v_schema := tenancy.require_tenant(v_tenant);
        v_nsp := to_regnamespace(quote_ident(v_schema));
        tenant_id := v_tenant;
        SELECT t.state INTO v_state FROM tenancy.tenants AS t WHERE t.tenant_id = v_tenant;
        IF v_nsp IS NULL OR v_state IS DISTINCT FROM 'migrated' AND v_state IS DISTINCT FROM 'cut_over'
            AND v_state IS DISTINCT FROM 'contracted' THEN
            object_name := v_schema; severity := 'error';
            problem := format('tenant is %s, not migrated', coalesce(v_state, 'not provisioned'));
            hint := 'Run `tenancy migrate` (and `tenancy validate`) for this tenant first.';
            RETURN NEXT;
            CONTINUE;
        END IF;
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_schema AS s WHERE s.schemaid = v_nsp);

        FOR v_row IN
            SELECT c.oid::regclass::text AS rel, c.relkind, e.objid IS NOT NULL AS by_extension,
                   p.partmethod, p.repmodel,
                   (i.inhrelid IS NOT NULL AND NOT c.relispartition) OR ch.inhrelid IS NOT NULL AND NOT ch.is_partition AS inherits,
                   c.relispartition AND parent.relnamespace <> v_nsp AS foreign_partition
            FROM pg_class AS c
            LEFT JOIN pg_depend AS e ON e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e'
            LEFT JOIN pg_dist_partition AS p ON p.logicalrelid = c.oid
            LEFT JOIN pg_inherits AS i ON i.inhrelid = c.oid
            LEFT JOIN pg_class AS parent ON parent.oid = i.inhparent
            LEFT JOIN LATERAL (
                SELECT k.inhrelid, kc.relispartition AS is_partition FROM pg_inherits AS k
                JOIN pg_class AS kc ON kc.oid = k.inhrelid
                WHERE k.inhparent = c.oid LIMIT 1
            ) AS ch ON true
            WHERE c.relnamespace = v_nsp AND c.relkind IN ('r', 'p', 'f')
            ORDER BY c.relname
        LOOP
            object_name := v_row.rel; severity := 'error';
            IF v_row.relkind = 'f' THEN
                problem := 'foreign table: Citus cannot place it in a distributed schema';
                hint := 'Move the foreign table to another schema.';
                RETURN NEXT;
            END IF;
            IF v_row.inherits OR v_row.foreign_partition THEN
                problem := 'table inheritance (or a partition of a table in another schema): Citus refuses it in a distributed schema';
                hint := 'Use declarative partitioning within the schema, or move the table out.';
                RETURN NEXT;
            END IF;
            IF v_row.by_extension THEN
                problem := 'table owned by an extension: Citus cannot distribute its schema';
                hint := 'Install the extension in another schema.';
                RETURN NEXT;
            END IF;
            IF v_row.partmethod IS NOT NULL AND NOT (v_row.partmethod = 'n' AND v_row.repmodel = 's') THEN
                problem := 'already a distributed or reference table: a distributed schema holds only its own tables';
                hint := format('Run SELECT undistribute_table(%L) first.', v_row.rel);
                RETURN NEXT;
            END IF;
        END LOOP;

        FOR v_row IN
            SELECT k.conname, k.conrelid::regclass::text AS src, k.confrelid::regclass::text AS dst,
                   k.confrelid, cl.relnamespace AS dst_nsp, cl.relname AS dst_name,
                   coalesce(p.partmethod = 'n' AND p.repmodel = 't', false) AS is_reference
            FROM pg_constraint AS k
            JOIN pg_class AS cl ON cl.oid = k.confrelid
            LEFT JOIN pg_dist_partition AS p ON p.logicalrelid = k.confrelid
            WHERE k.contype = 'f' AND k.connamespace = v_nsp AND cl.relnamespace <> v_nsp
            ORDER BY 1
        LOOP
            CONTINUE WHEN v_row.is_reference OR v_row.confrelid = ANY (v_refs);
            object_name := v_row.src; severity := 'error';
            problem := format('foreign key %I references %s, which is not a Citus reference table', v_row.conname, v_row.dst);
            hint := CASE WHEN v_row.dst_nsp = to_regnamespace(quote_ident(v_settings.central_schema))
                THEN format('Consent to make it a reference table, copied to every worker: --make-reference %s, '
                            'or reference_tables = [%s] in the manifest''s [citus] section.', v_row.dst_name,
                            to_json(v_row.dst_name::text))
                ELSE 'A distributed schema may reference only its own tables and reference tables: drop or move the foreign key.' END;
            RETURN NEXT;
        END LOOP;

        FOR v_row IN
            SELECT k.conname, k.conrelid::regclass::text AS src, k.confrelid::regclass::text AS dst
            FROM pg_constraint AS k JOIN pg_class AS cl ON cl.oid = k.conrelid
            WHERE k.contype = 'f' AND cl.relnamespace <> v_nsp
                AND k.confrelid IN (SELECT c.oid FROM pg_class AS c WHERE c.relnamespace = v_nsp)
            ORDER BY 1
        LOOP
            object_name := v_row.src; severity := 'error';
            problem := format('foreign key %I from outside the schema references %s', v_row.conname, v_row.dst);
            hint := 'Citus refuses foreign keys into a distributed schema: drop it, or keep the referencing table in the tenant schema.';
            RETURN NEXT;
        END LOOP;

        -- Column types and default functions an extension provides must exist on every worker.
        FOR v_row IN
            SELECT x.extname, min(x.what) AS what
            FROM (
                SELECT e.extname, format('%s.%I (type %s)', c.oid::regclass, a.attname, format_type(a.atttypid, NULL)) AS what
                FROM pg_class AS c
                JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                JOIN pg_depend AS d ON d.classid = 'pg_type'::regclass AND d.objid = a.atttypid AND d.deptype = 'e'
                JOIN pg_extension AS e ON e.oid = d.refobjid
                WHERE c.relnamespace = v_nsp
                UNION ALL
                SELECT e.extname, format('%s.%I (default %s)', c.oid::regclass, a.attname, f.oid::regprocedure)
                FROM pg_class AS c
                JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                JOIN pg_attrdef AS ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
                JOIN pg_depend AS fd ON fd.classid = 'pg_attrdef'::regclass AND fd.objid = ad.oid
                    AND fd.refclassid = 'pg_proc'::regclass
                JOIN pg_proc AS f ON f.oid = fd.refobjid
                JOIN pg_depend AS d ON d.classid = 'pg_proc'::regclass AND d.objid = f.oid AND d.deptype = 'e'
                JOIN pg_extension AS e ON e.oid = d.refobjid
                WHERE c.relnamespace = v_nsp
            ) AS x
            WHERE EXISTS (
                SELECT 1 FROM run_command_on_workers(format('SELECT count(*) FROM pg_extension WHERE extname = %L', x.extname)) AS r
                WHERE NOT r.success OR r.result <> '1'
            )
            GROUP BY x.extname
            ORDER BY 1
        LOOP
            object_name := v_row.what; severity := 'error';
            problem := format('needs extension %I, which is missing on a worker', v_row.extname);
            hint := format('CREATE EXTENSION %I on every worker (or once on the coordinator, which Citus propagates).', v_row.extname);
            RETURN NEXT;
        END LOOP;

        FOR v_row IN
            SELECT c.oid::regclass::text AS rel, a.attname, s.seqtypid::regtype::text AS seqtype
            FROM pg_class AS c
            JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            JOIN pg_depend AS d ON d.refobjid = c.oid AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass
                AND d.deptype IN ('a', 'i')
            JOIN pg_sequence AS s ON s.seqrelid = d.objid
            WHERE c.relnamespace = v_nsp AND s.seqtypid <> 'bigint'::regtype
            ORDER BY 1, 2
        LOOP
            object_name := format('%s.%I', v_row.rel, v_row.attname); severity := 'warning';
            problem := format('%s sequence: Citus serves nextval() of it on the coordinator only', v_row.seqtype);
            hint := 'Insert through the coordinator, or change the column and its sequence to bigint before distributing.';
            RETURN NEXT;
        END LOOP;
    END LOOP;

    -- Citus turns every plain table linked by foreign keys to a new reference
    -- table into a Citus local table, re-creating its policies: it refuses
    -- those with subqueries, and writes RESTRICTIVE ones as PERMISSIVE.
    IF cardinality(v_refs) > 0 THEN
        FOR v_row IN
            WITH RECURSIVE edge AS (
                SELECT k.conrelid AS a, k.confrelid AS b FROM pg_constraint AS k WHERE k.contype = 'f'
                UNION ALL
                SELECT k.confrelid, k.conrelid FROM pg_constraint AS k WHERE k.contype = 'f'
            ), graph (rel) AS (
                SELECT unnest(v_refs)
                UNION
                SELECT e.b FROM graph AS g JOIN edge AS e ON e.a = g.rel
                WHERE NOT EXISTS (SELECT 1 FROM pg_dist_partition AS p WHERE p.logicalrelid = e.b AND p.repmodel = 't')
            )
            SELECT DISTINCT g.rel::regclass::text AS rel, pol.polname,
                   pol.polqual::text LIKE '%{SUBLINK %' OR pol.polwithcheck::text LIKE '%{SUBLINK %' AS subquery,
                   NOT pol.polpermissive AS restrictive
            FROM graph AS g JOIN pg_policy AS pol ON pol.polrelid = g.rel
            WHERE pol.polqual::text LIKE '%{SUBLINK %' OR pol.polwithcheck::text LIKE '%{SUBLINK %' OR NOT pol.polpermissive
            ORDER BY 1, 2
        LOOP
            tenant_id := NULL; object_name := v_row.rel; severity := 'error';
            IF v_row.subquery THEN
                problem := format('policy %I has a subquery; making %s reference tables brings this table under Citus, '
                                  'which refuses such policies', v_row.polname, array_to_string(p_make_reference, ', '));
                hint := CASE WHEN v_row.polname LIKE 'tenancy\_%'
                    THEN 'An earlier version of tenancy made this policy: run `tenancy install` (this version replaces it '
                         'with one that compares through a function), then distribute again.'
                    ELSE 'Rewrite the policy without a subquery (e.g. compare with a STABLE function), or break the '
                         'foreign-key chain that links this table to the reference tables.' END;
                RETURN NEXT;
            END IF;
            IF v_row.restrictive THEN
                problem := format('policy %I is RESTRICTIVE; making %s reference tables brings this table under Citus, '
                                  'which re-creates it as PERMISSIVE (a limit would become a grant)',
                                  v_row.polname, array_to_string(p_make_reference, ', '));
                hint := CASE WHEN v_row.polname LIKE 'tenancy\_%'
                    THEN 'An earlier version of tenancy made this policy: run `tenancy install` (this version folds its '
                         'check into the permissive policies), then distribute again.'
                    ELSE 'Fold its condition into the permissive policies of the same roles and drop it, or break the '
                         'foreign-key chain that links this table to the reference tables.' END;
                RETURN NEXT;
            END IF;
        END LOOP;

        -- Row-level security on a new reference table runs on the workers too,
        -- where a policy's function cannot read the coordinator's tables.
        FOR v_row IN
            SELECT c.oid::regclass::text AS rel, bool_or(pol.polcmd <> 'r') AS writes
            FROM pg_class AS c
            INNER JOIN pg_policy AS pol ON pol.polrelid = c.oid
            WHERE c.oid = ANY (v_refs) AND c.relrowsecurity
                AND NOT EXISTS (SELECT 1 FROM pg_dist_partition AS p WHERE p.logicalrelid = c.oid AND p.repmodel = 't')
                AND EXISTS (
                    SELECT 1 FROM pg_depend AS d JOIN pg_proc AS f ON f.oid = d.refobjid
                    WHERE d.classid = 'pg_policy'::regclass AND d.objid = pol.oid AND d.refclassid = 'pg_proc'::regclass
                        AND f.pronamespace <> 'pg_catalog'::regnamespace
                )
            GROUP BY c.oid
            ORDER BY 1
        LOOP
            tenant_id := NULL; object_name := v_row.rel;
            IF v_row.writes THEN
                severity := 'error';
                problem := 'has write policies that call functions: as a reference table, a write runs on every node, '
                           'and a function that reads a table there (tenancy''s look the tenant up in the registry, which '
                           'stays on the coordinator) fails it (cannot execute a distributed query from a query on a '
                           'shard): every tenant-role write would fail';
                hint := 'Keep it off the reference tables: drop the foreign keys from tenant tables to it (it then stays '
                        'on the coordinator, where its policies work), or move the table to the tenants.';
            ELSE
                severity := 'warning';
                problem := 'has policies that call functions: as a reference table, a query that joins it with a '
                           'tenant''s tables runs on the worker, and a function that reads a table there (tenancy''s look '
                           'the tenant up in the registry, which stays on the coordinator) fails it (cannot execute a '
                           'distributed query from a query on a shard). Read alone, through the coordinator, it works';
                hint := 'Tenant roles read it in a query of its own; or open it to them ([central.access] "all" or '
                        'columns), which needs no policy.';
            END IF;
            RETURN NEXT;
        END LOOP;
    END IF;
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_preflight(text [], text []) IS
'Problems that stop (error) or qualify (warning) distributing these tenants over Citus; no rows: ready. Read-only.';
