-- One row when this database has the citus extension, none otherwise.
SELECT 1 AS citus
FROM pg_extension
WHERE extname = 'citus'
