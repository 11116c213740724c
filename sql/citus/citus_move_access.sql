-- tenancy.citus_move_access(tenant id, grant): what a shard move of the
-- tenant needs that the privilege model does not give: Citus copies shards
-- over connections made as each table's owner (a NOLOGIN role here), and
-- re-creates each foreign key to a reference table as that owner, which needs
-- REFERENCES on the referenced columns. p_grant true grants what is missing
-- and returns it as jsonb {"login": [role], "references": [[role, table,
-- column]]}; p_grant false takes back exactly the facts of that list (and
-- only those the tenant's tables and foreign keys account for, so the list
-- cannot reach any other role or table) given in p_given. Citus propagates
-- ALTER ROLE and GRANT to the workers.
CREATE OR REPLACE FUNCTION tenancy.citus_move_access(p_tenant_id text, p_grant boolean, p_given jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_schema text := tenancy.require_tenant(p_tenant_id);
    v_nsp    oid := to_regnamespace(quote_ident(v_schema));
    v_row    record;
    v_login  jsonb := '[]';
    v_refs   jsonb := '[]';
BEGIN
    FOR v_row IN
        SELECT DISTINCT o.rolname, o.rolcanlogin
        FROM pg_class AS c JOIN pg_roles AS o ON o.oid = c.relowner
        WHERE c.relnamespace = v_nsp AND c.relkind IN ('r', 'p') AND NOT o.rolsuper
        ORDER BY 1
    LOOP
        IF p_grant AND NOT v_row.rolcanlogin THEN
            EXECUTE format('ALTER ROLE %I LOGIN', v_row.rolname);
            v_login := v_login || to_jsonb(v_row.rolname);
        ELSIF NOT p_grant AND v_row.rolcanlogin AND p_given -> 'login' ? v_row.rolname THEN
            EXECUTE format('ALTER ROLE %I NOLOGIN', v_row.rolname);
        END IF;
    END LOOP;

    FOR v_row IN
        SELECT DISTINCT o.rolname, k.confrelid::regclass::text AS target, a.attname
        FROM pg_constraint AS k
        JOIN pg_class AS c ON c.oid = k.conrelid
        JOIN pg_roles AS o ON o.oid = c.relowner
        JOIN pg_class AS t ON t.oid = k.confrelid
        CROSS JOIN LATERAL unnest(k.confkey) AS u (attnum)
        JOIN pg_attribute AS a ON a.attrelid = k.confrelid AND a.attnum = u.attnum
        WHERE k.contype = 'f' AND c.relnamespace = v_nsp AND t.relnamespace <> v_nsp AND NOT o.rolsuper
        ORDER BY 1, 2, 3
    LOOP
        IF p_grant AND NOT has_column_privilege(v_row.rolname, v_row.target, v_row.attname, 'REFERENCES') THEN
            EXECUTE format('GRANT REFERENCES (%I) ON %s TO %I', v_row.attname, v_row.target, v_row.rolname);
            v_refs := v_refs || jsonb_build_array(jsonb_build_array(v_row.rolname, v_row.target, v_row.attname));
        ELSIF NOT p_grant
            AND p_given -> 'references' @> jsonb_build_array(jsonb_build_array(v_row.rolname, v_row.target, v_row.attname)) THEN
            EXECUTE format('REVOKE REFERENCES (%I) ON %s FROM %I', v_row.attname, v_row.target, v_row.rolname);
        END IF;
    END LOOP;
    RETURN jsonb_build_object('login', v_login, 'references', v_refs);
END
$fn$;
COMMENT ON FUNCTION tenancy.citus_move_access(text, boolean, jsonb) IS
'For a shard move: grants (true) or takes back (false) the owner LOGIN and REFERENCES Citus needs; returns what it granted.';
