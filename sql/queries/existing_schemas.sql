-- Which of the given schema names exist.
SELECT n.nspname
FROM pg_catalog.pg_namespace AS n
WHERE n.nspname = any(%(schemas)s);
