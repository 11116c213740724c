-- tenancy.central_reference_hint(referencing table, moved table): the fix for a
-- foreign key from a table that stays into a moved table (see
-- tenancy.central_references()). When the referencing table is a tenant
-- table, the moved table was added to [move] after that tenant migrated: its
-- key still points at the shared table, and only migrating the tenant again
-- makes it tenant-local. Read-only.
CREATE OR REPLACE FUNCTION tenancy.central_reference_hint(p_referencing_table text, p_table text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_tenant text;
BEGIN
    SELECT t.tenant_id INTO v_tenant
    FROM pg_class AS r
    INNER JOIN pg_namespace AS n ON r.relnamespace = n.oid
    INNER JOIN tenancy.tenants AS t ON n.nspname = t.schema_name
    WHERE r.oid = to_regclass(p_referencing_table);
    IF v_tenant IS NOT NULL THEN
        RETURN format('%s was added to [move] after tenant %L migrated, and %s still references the shared table: '
                      'roll that tenant back (`tenancy rollback --tenant %s`) and migrate it again, '
                      'or take %s out of [move].', p_table, v_tenant, p_referencing_table, v_tenant, p_table);
    END IF;
    RETURN 'Drop that foreign key, or move the referencing table too (list it under [move]).';
END
$fn$;
COMMENT ON FUNCTION tenancy.central_reference_hint(text, text) IS
'The fix for a foreign key into a moved table: drop or move it, or (from a tenant table) migrate that tenant again.';
