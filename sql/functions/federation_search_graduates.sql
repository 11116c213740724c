CREATE OR REPLACE FUNCTION tenancy_federation.search_graduates(
    p_name            text DEFAULT NULL,
    p_graduation_year integer DEFAULT NULL,
    p_course          text DEFAULT NULL,
    p_tenant_ids      text [] DEFAULT NULL,
    p_limit           integer DEFAULT 100
)
RETURNS TABLE (
    tenant_id       text,
    tenant_name     text,
    graduate_id     bigint,
    name            text,
    email           text,
    graduation_year integer,
    course_id       bigint,
    course_code     text,
    course_name     text,
    user_id         bigint
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
/*
 * Graduates of every tenant (or of p_tenant_ids): the <tenant schema>.graduates
 * tables of the registered tenants that have one (joined to that schema's
 * courses when it has them), filtered by
 *   p_name            case-insensitive substring of the name (taken literally:
 *                     %, _ and \ match themselves),
 *   p_graduation_year equal,
 *   p_course          exact course code (case-insensitive) or substring of
 *                     the course name,
 * each NULL = no filter. The filters are bound parameters ($1..), never part
 * of the statement text.
 * Returns at most p_limit rows (1..10000) ordered by name, tenant_id,
 * graduate_id (a total order, so pages are stable).
 * Scales with the number of tenants: one small statement per tenant returns
 * its best p_limit rows, merged into the best p_limit so far (memory bounded
 * by p_limit, not by the number of tenants; no plan of thousands of UNION ALL
 * branches). Each tenant's statement runs in a block that ends in an error of
 * its own (TY089, caught here), so that the subtransaction releases that
 * tenant's locks: the lock table does not grow with the number of tenants.
 * Raises TY002 for unknown ids in p_tenant_ids, 22023 for a bad p_limit.
 * Read-only.
 */
DECLARE
    v_tenant record;
    v_rows   jsonb;
    v_best   jsonb := '[]'::jsonb;
    v_tables text [];
BEGIN
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('tenancy_federation.search_graduates: limit %s is out of range',
                             coalesce(p_limit::text, 'NULL')),
            HINT = 'Pass a limit between 1 and 10000.';
    END IF;

    FOR v_tenant IN
        SELECT t.tenant_id, t.tenant_name, t.schema_name
        FROM tenancy_federation.tenants(p_tenant_ids, ARRAY['graduates', 'courses']) AS t
        WHERE 'graduates' = ANY (t.tables)
    LOOP
        BEGIN
            -- Locked and proven in this block, read in it, released at its end.
            v_tables := tenancy.readable_tables(v_tenant.tenant_id, ARRAY['graduates', 'courses']);
            IF NOT 'graduates' = ANY (v_tables) THEN
                v_rows := '[]'::jsonb;
                RAISE SQLSTATE 'TY089';
            END IF;
            EXECUTE format(
                'SELECT coalesce(jsonb_agg(b ORDER BY b.name, b.graduate_id), ''[]'') FROM ('
                ' SELECT f.* FROM (SELECT %L::text AS tenant_id, %L::text AS tenant_name, g.id::bigint AS graduate_id,'
                ' g.name::text AS name, g.email::text AS email, g.graduation_year::integer AS graduation_year,'
                ' g.course_id::bigint AS course_id, %s, g.user_id::bigint AS user_id'
                ' FROM %I.graduates AS g%s) AS f'
                ' WHERE ($1::text IS NULL OR f.name ILIKE $1)'
                ' AND ($2::integer IS NULL OR f.graduation_year = $2)'
                ' AND ($3::text IS NULL OR lower(f.course_code) = lower($3) OR f.course_name ILIKE $4)'
                ' ORDER BY f.name, f.graduate_id LIMIT $5) AS b',
                v_tenant.tenant_id, v_tenant.tenant_name,
                CASE WHEN 'courses' = ANY (v_tables) THEN 'c.code::text AS course_code, c.name::text AS course_name'
                    ELSE 'NULL::text AS course_code, NULL::text AS course_name' END,
                v_tenant.schema_name,
                CASE WHEN 'courses' = ANY (v_tables)
                    THEN format(' LEFT JOIN %I.courses AS c ON c.id = g.course_id', v_tenant.schema_name)
                    ELSE '' END
            ) INTO v_rows
            USING tenancy_federation.like_pattern(p_name), p_graduation_year, p_course,
                  tenancy_federation.like_pattern(p_course), p_limit;
            RAISE SQLSTATE 'TY089';
        EXCEPTION WHEN SQLSTATE 'TY089' THEN
            NULL;  -- the block's locks are released; its rows are in v_rows
        END;
        CONTINUE WHEN jsonb_array_length(v_rows) = 0;
        SELECT coalesce(jsonb_agg(b.x ORDER BY b.x ->> 'name', b.x ->> 'tenant_id', (b.x ->> 'graduate_id')::bigint),
                        '[]')
        INTO v_best
        FROM (
            SELECT e.x FROM jsonb_array_elements(v_best || v_rows) AS e (x)
            ORDER BY e.x ->> 'name', e.x ->> 'tenant_id', (e.x ->> 'graduate_id')::bigint
            LIMIT p_limit
        ) AS b;
    END LOOP;

    RETURN QUERY
        SELECT r.tenant_id, r.tenant_name, r.graduate_id, r.name, r.email, r.graduation_year,
               r.course_id, r.course_code, r.course_name, r.user_id
        FROM jsonb_to_recordset(v_best) AS r (
            tenant_id text, tenant_name text, graduate_id bigint, name text, email text,
            graduation_year integer, course_id bigint, course_code text, course_name text, user_id bigint
        )
        ORDER BY r.name, r.tenant_id, r.graduate_id;
END
$fn$;
COMMENT ON FUNCTION tenancy_federation.search_graduates(text, integer, text, text [], integer) IS
'Graduates across tenant schemas, one small statement per tenant, by name substring, year and course; '
'rows carry tenant id and name; ordered by name, tenant, id; at most p_limit.';
REVOKE ALL ON FUNCTION tenancy_federation.search_graduates(text, integer, text, text [], integer)
FROM PUBLIC;
-- Owned by a role that holds only what the function reads, never by the installer.
ALTER FUNCTION tenancy_federation.search_graduates(text, integer, text, text [], integer) OWNER TO tenancy_federation_owner;
GRANT EXECUTE ON FUNCTION tenancy_federation.search_graduates(text, integer, text, text [], integer)
TO tenancy_federation;
