-- One tenant schema as it exists before the migration: the original plan's "core tenant
-- tables (already exist)", courses and graduates. runner/devtools/sample.py runs this
-- once per tenant after data.sql, having created the schema and set
-- search_path to it (then public), and sample.ord to the tenant's number in
-- sample_plan. Unqualified names therefore resolve to the new schema,
-- sample_plan to pg_temp and users to public.

-- Lint exceptions (sqlfluff): LT09 and AM05 are the house style of the
-- sql/functions bodies (`SELECT a, b`, `JOIN`); AL03 because each INSERT names
-- its target columns; RF03 because g, the draw number, is left unqualified.
-- noqa: disable=LT09,AM05,AL03,RF03

CREATE TABLE courses (
    id          bigserial PRIMARY KEY,
    name        varchar(255) NOT NULL,
    code        varchar(50) NOT NULL UNIQUE,
    created_at  timestamp
);

CREATE TABLE graduates (
    id               bigserial PRIMARY KEY,
    name             varchar(255) NOT NULL,
    email            varchar(255) NOT NULL UNIQUE,
    phone            varchar(255),
    address          text,
    graduation_year  integer,
    course_id        bigint REFERENCES courses (id),
    -- A central user (an alumnus who signed up), deliberately without a FK.
    user_id          bigint,
    created_at       timestamp,
    updated_at       timestamp
);

-- Ids come from the new sequences, 1, 2, ... in k order; graduates count on it.
-- Consecutive programs from a seeded offset, so no name repeats in a tenant.
INSERT INTO courses (name, code, created_at)
SELECT (pg_temp.programs())[c.i],
       (pg_temp.program_codes())[c.i] || (100 + c.k),
       c.onboarded_at - interval '3 years'
       + (pg_temp.rnd('course.created', c.g) % (365 * 86400)) * interval '1 second'
FROM (
    SELECT p.onboarded_at,
           g,
           g - p.first_id + 1 AS k,
           1 + (pg_temp.rnd('course.offset', p.ord) + g - p.first_id)
               % cardinality(pg_temp.programs()) AS i
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'courses' AND p.ord = current_setting('sample.ord')::integer
) AS c
ORDER BY c.k;

-- The first two graduates of tenant ord are alumni ord and ord + 1, so
-- neighbouring tenants share an alumnus; about 30% of the rest are linked to
-- a random alumnus. Every tenant has graduates of 2023.
INSERT INTO graduates (name, email, phone, address, graduation_year, course_id,
                                user_id, created_at, updated_at)
SELECT gr.name,
       translate(lower(gr.name), 'ü ', 'u.') || '.' || gr.k || '@' || gr.tenant_id
       || '.alumni.example.edu',
       CASE WHEN pg_temp.unit('graduate.has_phone', gr.g) < 0.8
           THEN '+1-555-' || lpad((pg_temp.rnd('graduate.phone', gr.g) % 10000)::text, 4, '0')
       END,
       CASE WHEN pg_temp.unit('graduate.has_address', gr.g) < 0.7
           THEN (1 + pg_temp.rnd('graduate.house', gr.g) % 999) || ' '
                || pg_temp.pick(ARRAY['Main Street', 'Oak Avenue', 'College Road', 'Park Lane',
                                      'Station Road', 'Elm Street'], 'graduate.street', gr.g)
                || ', ' || pg_temp.pick(pg_temp.places(), 'graduate.city', gr.g)
       END,
       gr.graduation_year,
       gr.course_id,
       gr.user_id,
       gr.created_at,
       gr.created_at + (pg_temp.rnd('graduate.updated', gr.g) % (365 * 86400)) * interval '1 second'
FROM (
    SELECT q.*,
           coalesce(u.name, pg_temp.person_name('graduate', q.g)) AS name,
           make_timestamp(q.graduation_year, 6, 15, 12, 0, 0)
           + (pg_temp.rnd('graduate.created', q.g) % (60 * 86400)) * interval '1 second'
           AS created_at
    FROM (
        SELECT g,
               g - p.first_id + 1 AS k,
               p.tenant_id,
               CASE
                   WHEN g - p.first_id < 3 THEN 2023
                   ELSE 2015 + (pg_temp.rnd('graduate.year', g) % 10)::int
               END AS graduation_year,
               1 + pg_temp.rnd('graduate.course', g) % c.n AS course_id,
               CASE
                   WHEN g = p.first_id
                       THEN pg_temp.first_alumnus() + (p.ord - 1) % pg_temp.alumni_count()
                   WHEN g = p.first_id + 1
                       THEN pg_temp.first_alumnus() + p.ord % pg_temp.alumni_count()
                   WHEN pg_temp.unit('graduate.linked', g) < 0.3
                       THEN pg_temp.first_alumnus()
                            + pg_temp.rnd('graduate.user', g) % pg_temp.alumni_count()
               END AS user_id
        FROM sample_plan AS p
        CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
        JOIN sample_plan AS c ON p.ord = c.ord AND c.tbl = 'courses'
        WHERE p.tbl = 'graduates' AND p.ord = current_setting('sample.ord')::integer
    ) AS q
    LEFT JOIN users AS u ON q.user_id = u.id
) AS gr
ORDER BY gr.k;

ANALYZE courses, graduates;
