-- verify-grants: a row when PUBLIC may create temporary objects in this database.
SELECT 1 AS public_temp
FROM pg_catalog.pg_database AS d
CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) AS a
WHERE d.datname = current_database() AND a.grantee = 0 AND a.privilege_type = 'TEMPORARY';
