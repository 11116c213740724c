-- The Pulumi path's row-level security step (infra/program.py, run by psql in
-- one transaction): check that tenancy is installed, take the lock that
-- tenancy.provision_shared_privileges() takes, call
-- tenancy.secure_hybrid_tables() (what the SQL path calls), then verify that
-- every hybrid table has row-level security and every policy the model
-- declares. The caller sets tenancy.expected_rls first: a JSON object
-- {"tables": [[schema, table], ...], "policies": [[schema, table, name, command, [roles]], ...]}.
BEGIN;

DO $check$
BEGIN
    IF to_regprocedure('tenancy.secure_hybrid_tables()') IS NULL THEN
        RAISE EXCEPTION 'tenancy: function tenancy.secure_hybrid_tables() not found in database %: schema tenancy is not installed', current_database()
            USING HINT = 'Run `tenancy install --dsn <this database>` once per database (with the manifest of this stack), then `pulumi up` again.';
    END IF;
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('tenancy.provision_shared_privileges'));
END
$check$;

SELECT * FROM tenancy.secure_hybrid_tables();

DO $verify$
DECLARE
    v_expected jsonb := pg_catalog.current_setting('tenancy.expected_rls')::jsonb;
    v_wrong    text;
BEGIN
    SELECT pg_catalog.string_agg(w.what, '; ' ORDER BY w.what) INTO v_wrong
    FROM (
        SELECT pg_catalog.format('%s.%s: %s', t.s, t.t,
                   CASE WHEN c.oid IS NULL THEN 'table not found'
                        ELSE 'row level security not enabled' END) AS what
        FROM (
            SELECT e ->> 0 AS s, e ->> 1 AS t FROM pg_catalog.jsonb_array_elements(v_expected -> 'tables') AS e
        ) AS t
        LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = t.s
        LEFT JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = t.t
        WHERE c.relrowsecurity IS NOT TRUE
        UNION ALL
        SELECT pg_catalog.format('%s.%s: policy %s (%s to %s) missing or different', p.s, p.t,
                   p.name, p.cmd, pg_catalog.array_to_string(p.roles, ', '))
        FROM (
            SELECT e ->> 0 AS s, e ->> 1 AS t, e ->> 2 AS name, e ->> 3 AS cmd,
                   array(SELECT pg_catalog.jsonb_array_elements_text(e -> 4)) AS roles
            FROM pg_catalog.jsonb_array_elements(v_expected -> 'policies') AS e
        ) AS p
        WHERE NOT EXISTS (
            SELECT 1 FROM pg_catalog.pg_policies AS x
            WHERE x.schemaname = p.s AND x.tablename = p.t AND x.policyname = p.name
                AND x.cmd = p.cmd AND x.roles::text [] @> p.roles AND x.roles::text [] <@ p.roles)
    ) AS w;
    IF v_wrong IS NOT NULL THEN
        RAISE EXCEPTION 'tenancy: row-level security on the hybrid tables is not what the manifest says: %', v_wrong
            USING HINT = 'A table or policy missing: run `tenancy install` with this stack''s manifest on this database '
                         '(tenancy.secure_hybrid_tables() makes the policies that manifest calls for, and replaces any that differ). '
                         '`tenancy verify-grants` lists every difference.';
    END IF;
END
$verify$;

COMMIT;
