-- Rows of the sample, generated in the database (INSERT ... SELECT over
-- generate_series); runner/devtools/sample.py runs one "-- step:" at a time, in order,
-- inside one transaction, after functions.sql and schema.sql.
--
-- Input: sample_counts (tbl, ord, n, first_id), filled by runner/devtools/sample.py:
-- tenant number ord (1 = first onboarded, the largest) gets n rows of table
-- tbl, numbered first_id .. first_id + n - 1; the numbers run on from one
-- tenant to the next. These numbers are the draw numbers that every
-- pg_temp.rnd() call hashes, so a row's values depend only on (seed, its number).
--
-- Two ways of laying rows out, as the app itself would have:
--   * configuration created per tenant (templates, themes, brand, sequences)
--     takes the draw number as its id, so a tenant's rows are contiguous and a
--     child picks its parent as parent.first_id + (something % parent.n): always
--     a row of the same tenant;
--   * activity (analytics_events, dashboards, enrollments, jobs, leads) gets ids
--     in time order with row_number(), so tenants interleave in the heap just as
--     concurrent tenants' writes do.

-- Lint exceptions (sqlfluff): LT09 and AM05 are the house style of the
-- sql/functions bodies (`SELECT a, b`, `JOIN`); AL03 because each INSERT names
-- its target columns; RF03 because g, the draw number, is left unqualified.
-- noqa: disable=LT09,AM05,AL03,RF03

-- step: tenants
-- Ids like 'abc123'. A draw that repeats an earlier id is skipped, so the
-- first tenant_count() distinct draws are the tenants, in draw order.
CREATE TEMP TABLE sample_tenants ON COMMIT DROP AS
WITH draw AS (
    SELECT d,
           chr(97 + (pg_temp.rnd('tenant.letter1', d) % 26)::int)
           || chr(97 + (pg_temp.rnd('tenant.letter2', d) % 26)::int)
           || chr(97 + (pg_temp.rnd('tenant.letter3', d) % 26)::int)
           || lpad((pg_temp.rnd('tenant.digits', d) % 1000)::text, 3, '0') AS id
    FROM generate_series(1, 4 * pg_temp.tenant_count() + 16) AS d
),

first_draw AS (
    SELECT DISTINCT ON (id) id, d FROM draw ORDER BY id, d
),

numbered AS (
    SELECT id, row_number() OVER (ORDER BY d) AS ord FROM first_draw
),

placed AS (
    SELECT ord, id, pg_temp.pick(pg_temp.places(), 'tenant.place', ord) AS place
    FROM numbered
    WHERE ord <= pg_temp.tenant_count()
),

named AS (
    SELECT ord, id, place, row_number() OVER (PARTITION BY place ORDER BY ord) AS nth
    FROM placed
)

SELECT ord::integer AS ord,
       id,
       CASE nth
           WHEN 1 THEN 'University of ' || place
           WHEN 2 THEN place || ' State University'
           WHEN 3 THEN place || ' Institute of Technology'
           WHEN 4 THEN place || ' College'
           ELSE 'University of ' || place || ', Campus ' || nth
       END AS name,
       lower(replace(place, ' ', '-')) || CASE WHEN nth > 1 THEN '-' || nth ELSE '' END AS slug,
       -- Onboarded one after another over 2018-2021: registry order is ord.
       timestamp '2018-01-08 09:00'
       + date_trunc('second', (ord - 1) * (interval '1400 days' / pg_temp.tenant_count()))
       AS created_at
FROM named;

INSERT INTO tenants (id, name, created_at)
SELECT id, name, created_at FROM sample_tenants ORDER BY ord;

-- step: plan
-- Kept past this transaction: the tenant schemas are created from it in
-- transactions of their own (runner/devtools/sample.py drops it at the end).
CREATE TEMP TABLE sample_plan AS
SELECT c.tbl,
       c.ord,
       t.id AS tenant_id,
       t.created_at AS onboarded_at,
       -- Configuration is created between onboarding and the end of 2024.
       date '2025-01-01' - t.created_at::date AS active_days,
       c.n,
       c.first_id
FROM sample_counts AS c
JOIN sample_tenants AS t ON c.ord = t.ord;

ALTER TABLE sample_plan ADD PRIMARY KEY (tbl, ord);
ANALYZE sample_plan;

-- step: domains
INSERT INTO domains (id, tenant_id, domain)
SELECT 2 * t.ord - 1 + s.custom,
       t.id,
       CASE s.custom
           WHEN 0 THEN t.id || '.alumate.test'
           ELSE 'alumni.' || t.slug || '.example.edu'
       END
FROM sample_tenants AS t
CROSS JOIN (VALUES (0), (1)) AS s (custom)
ORDER BY t.ord, s.custom;

-- step: roles
-- users.role_id below relies on these ids.
INSERT INTO roles (id, name) VALUES
    (1, 'super-admin'),
    (2, 'institution-admin'),
    (3, 'alumni'),
    (4, 'staff');

-- step: permissions
INSERT INTO permissions (id, name) VALUES
    (1, 'manage-tenants'),
    (2, 'manage-users'),
    (3, 'manage-templates'),
    (4, 'publish-landing-pages'),
    (5, 'view-analytics'),
    (6, 'manage-branding'),
    (7, 'manage-email-sequences'),
    (8, 'post-jobs');

-- step: institutions
-- One per tenant; its id is the tenant's ord, which users.institution_id uses.
INSERT INTO institutions (id, tenant_id, name)
SELECT ord, id, name FROM sample_tenants ORDER BY ord;

-- step: companies
INSERT INTO companies (id, name, website)
SELECT c,
       name,
       CASE WHEN pg_temp.unit('company.website', c) < 0.9
           THEN 'https://www.' || lower(replace(name, ' ', '')) || '.example.com'
       END
FROM (
    SELECT c,
           (ARRAY['Northwind', 'Bluepeak', 'Crescent', 'Ironclad', 'Lumen',
                  'Meridian', 'Oakline', 'Quantum', 'Silverline', 'Vertex'])[1 + (c - 1) % 10]
           || ' '
           || (ARRAY['Analytics', 'Health', 'Energy', 'Logistics', 'Software'])[1 + (c - 1) / 10]
           AS name
    FROM generate_series(1, 50) AS c
) AS company
ORDER BY c;

-- step: users
INSERT INTO users (id, name, email, institution_id, role_id, created_at)
SELECT u,
       name,
       translate(lower(name), 'ü ', 'u.') || '.' || u || '@example.com',
       CASE
           WHEN u <= 2 THEN NULL
           -- Admin (odd id) and staff (even id) of institution (u - 1) / 2.
           WHEN u < pg_temp.first_alumnus() THEN (u - 1) / 2
           -- Half of the alumni are not tied to one institution.
           WHEN pg_temp.unit('user.tied', u) < 0.5 THEN NULL
           ELSE 1 + pg_temp.rnd('user.institution', u) % pg_temp.tenant_count()
       END,
       CASE
           WHEN u <= 2 THEN 1
           WHEN u >= pg_temp.first_alumnus() THEN 3
           WHEN u % 2 = 1 THEN 2
           ELSE 4
       END,
       pg_temp.moment('user.created', u, timestamp '2018-01-01', 2500)
FROM (
    SELECT u, pg_temp.person_name('user', u) AS name
    FROM generate_series(1, pg_temp.user_count()) AS u
) AS person
ORDER BY u;

-- step: employers
INSERT INTO employers (id, tenant_id, name, company_id, created_at)
SELECT e.g, e.tenant_id, coalesce(c.name, e.local_name), c.id, e.created_at
FROM (
    SELECT g,
           p.tenant_id,
           CASE WHEN pg_temp.unit('employer.national', g) < 0.7
               THEN 1 + pg_temp.rnd('employer.company', g) % 50
           END AS company_id,
           pg_temp.pick(pg_temp.places(), 'employer.place', g) || ' '
           || pg_temp.pick(ARRAY['Regional Hospital', 'Public Schools', 'City Council',
                                 'Credit Union', 'Law Group', 'Engineering Works'],
                           'employer.kind', g) AS local_name,
           pg_temp.moment('employer.created', g, p.onboarded_at, p.active_days) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'employers'
) AS e
LEFT JOIN companies AS c ON e.company_id = c.id
ORDER BY e.g;

-- step: jobs
INSERT INTO jobs (id, tenant_id, employer_id, title, location, job_type, salary_min,
                  salary_max, status, is_public, created_at)
SELECT row_number() OVER (ORDER BY j.created_at, j.g),
       j.tenant_id,
       j.employer_id,
       j.title,
       j.location,
       j.job_type,
       j.salary_min,
       j.salary_min + 1000 * (5 + pg_temp.rnd('job.spread', j.g) % 36),
       j.status,
       j.is_public,
       j.created_at
FROM (
    SELECT g,
           p.tenant_id,
           e.first_id + pg_temp.rnd('job.employer', g) % e.n AS employer_id,
           pg_temp.pick(ARRAY['Software Engineer', 'Data Analyst', 'Registered Nurse',
                              'Marketing Coordinator', 'Research Assistant', 'Project Manager',
                              'Accountant', 'Teacher', 'Civil Engineer', 'UX Designer',
                              'Sales Associate', 'Policy Analyst'], 'job.title', g) AS title,
           CASE WHEN pg_temp.unit('job.remote', g) < 0.2 THEN 'Remote'
               ELSE pg_temp.pick(pg_temp.places(), 'job.location', g)
           END AS location,
           pg_temp.pick(ARRAY['full-time', 'full-time', 'full-time', 'part-time', 'contract',
                              'internship'], 'job.type', g) AS job_type,
           CASE
               WHEN pg_temp.unit('job.salary_shown', g) < 0.15 THEN NULL
               WHEN pg_temp.unit('job.intern_pay', g) < 0.15
                   THEN 1000 * (15 + pg_temp.rnd('job.salary', g) % 15)
               ELSE 1000 * (35 + pg_temp.rnd('job.salary', g) % 85)
           END AS salary_min,
           CASE
               WHEN pg_temp.unit('job.status', g) < 0.7 THEN 'active'
               WHEN pg_temp.unit('job.status', g) < 0.9 THEN 'closed'
               ELSE 'draft'
           END AS status,
           pg_temp.unit('job.public', g) < 0.3 AS is_public,
           pg_temp.moment('job.created', g, timestamp '2023-01-01', 730) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    JOIN sample_plan AS e ON p.ord = e.ord AND e.tbl = 'employers'
    WHERE p.tbl = 'jobs'
) AS j;

-- step: leads
INSERT INTO leads (id, tenant_id, email, source, status, created_at)
SELECT row_number() OVER (ORDER BY l.created_at, l.g),
       l.tenant_id,
       translate(lower(pg_temp.person_name('lead', l.g)), 'ü ', 'u.') || l.g || '@'
       || pg_temp.pick(ARRAY['example.com', 'example.org', 'example.net', 'mail.example'],
                       'lead.domain', l.g),
       pg_temp.pick(ARRAY['landing_page', 'landing_page', 'event', 'referral', 'newsletter',
                          'import'], 'lead.source', l.g),
       pg_temp.pick(ARRAY['new', 'new', 'contacted', 'qualified', 'converted', 'lost'],
                    'lead.status', l.g),
       l.created_at
FROM (
    SELECT g, p.tenant_id,
           pg_temp.moment('lead.created', g, timestamp '2023-01-01', 730) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'leads'
) AS l;

-- step: templates
INSERT INTO templates (id, tenant_id, name, slug, category, structure, is_active,
                       created_at, updated_at)
SELECT t.g,
       t.tenant_id,
       t.style || ' ' || initcap(t.category) || ' Template',
       lower(t.style) || '-' || t.category || '-' || (t.g - t.first_id + 1),
       t.category,
       jsonb_build_object(
           'version', 1 + pg_temp.rnd('template.version', t.g) % 3,
           'layout', pg_temp.pick(ARRAY['single-column', 'two-column', 'grid', 'split-hero'],
                                  'template.layout', t.g),
           'sections', jsonb_build_array(
               jsonb_build_object('type', 'hero', 'variant',
                                  pg_temp.pick(ARRAY['image', 'video', 'gradient'],
                                               'template.hero', t.g)),
               jsonb_build_object('type',
                                  pg_temp.pick(ARRAY['testimonials', 'statistics', 'events',
                                                     'features', 'gallery'],
                                               'template.body', t.g)),
               jsonb_build_object('type',
                                  pg_temp.pick(ARRAY['form', 'cta', 'newsletter'],
                                               'template.action', t.g)),
               jsonb_build_object('type', 'footer'))),
       pg_temp.unit('template.active', t.g) < 0.9,
       t.created_at,
       t.created_at + (pg_temp.rnd('template.updated', t.g) % (90 * 86400)) * interval '1 second'
FROM (
    SELECT g,
           p.tenant_id,
           p.first_id,
           pg_temp.pick(ARRAY['landing', 'homepage', 'form', 'email', 'social', 'event'],
                        'template.category', g) AS category,
           pg_temp.pick(ARRAY['Modern', 'Classic', 'Minimal', 'Bold', 'Elegant', 'Vibrant',
                              'Corporate', 'Playful'], 'template.style', g) AS style,
           pg_temp.moment('template.created', g, p.onboarded_at, p.active_days) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'templates'
) AS t
ORDER BY t.g;

-- step: template_variants
-- Dealt round-robin over the tenant's templates: the first round is each
-- template's control, later rounds are variants B, C, ...
INSERT INTO template_variants (id, tenant_id, template_id, name, weight, overrides,
                               created_at, updated_at)
SELECT v.g,
       v.tenant_id,
       v.template_id,
       CASE WHEN v.round = 0 THEN 'Control'
           ELSE 'Variant ' || chr(65 + (v.round % 26)::int) || ': '
                || pg_temp.pick(ARRAY['bold headline', 'short form', 'video hero',
                                      'social proof', 'urgent call to action'],
                                'variant.idea', v.g)
       END,
       CASE WHEN v.round = 0 THEN 50 ELSE (10 + pg_temp.rnd('variant.weight', v.g) % 81)::int END,
       CASE WHEN v.round > 0 THEN
           jsonb_build_object(
               'headline', pg_temp.pick(ARRAY['Come home to campus', 'Your network is waiting',
                                              'Give back today', 'Find your next role'],
                                        'variant.headline', v.g),
               'cta_color', pg_temp.hex_color('variant.cta', v.g))
       END,
       tpl.created_at + v.created_after,
       tpl.created_at + v.created_after
       + (pg_temp.rnd('variant.updated', v.g) % (30 * 86400)) * interval '1 second'
FROM (
    SELECT g,
           p.tenant_id,
           tp.first_id + (g - p.first_id) % tp.n AS template_id,
           (g - p.first_id) / tp.n AS round,
           (pg_temp.rnd('variant.created', g) % (60 * 86400)) * interval '1 second' AS created_after
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    JOIN sample_plan AS tp ON p.ord = tp.ord AND tp.tbl = 'templates'
    WHERE p.tbl = 'template_variants'
) AS v
JOIN templates AS tpl ON v.template_id = tpl.id
ORDER BY v.g;

-- step: landing_pages
INSERT INTO landing_pages (id, tenant_id, title, slug, content, template_id, is_published,
                           published_at, meta_title, meta_description, created_at, updated_at)
SELECT lp.g,
       lp.tenant_id,
       lp.title,
       lower(replace(lp.title, ' ', '-')) || '-' || (lp.g - lp.first_id + 1),
       CASE WHEN pg_temp.unit('page.has_content', lp.g) < 0.95 THEN
           jsonb_build_object(
               'hero', jsonb_build_object(
                   'headline', lp.title,
                   'subheadline', pg_temp.pick(ARRAY['Reconnect with classmates',
                                                     'Celebrate our community',
                                                     'Opportunities for every graduate',
                                                     'Support the next generation'],
                                               'page.subheadline', lp.g),
                   'image', '/images/hero-' || (1 + pg_temp.rnd('page.image', lp.g) % 40) || '.jpg'),
               'blocks', jsonb_build_array(
                   jsonb_build_object('type', 'text', 'body',
                                      pg_temp.pick(ARRAY['Join fellow alumni for a day of talks and tours.',
                                                         'Our mentors have helped hundreds of graduates.',
                                                         'Every gift funds a scholarship.',
                                                         'Employers from our network are hiring.'],
                                                   'page.body', lp.g)),
                   jsonb_build_object('type', 'cta',
                                      'label', pg_temp.pick(ARRAY['Register now', 'Learn more',
                                                                  'Donate', 'Sign up'],
                                                            'page.cta', lp.g),
                                      'url', '/register')))
       END,
       CASE WHEN pg_temp.unit('page.templated', lp.g) < 0.8
           THEN tp.first_id + pg_temp.rnd('page.template', lp.g) % tp.n
       END,
       lp.published_at IS NOT NULL,
       lp.published_at,
       lp.title || ' | Alumni',
       CASE WHEN pg_temp.unit('page.has_meta', lp.g) < 0.85
           THEN 'Everything about ' || lower(lp.title) || ' for our alumni community.'
       END,
       lp.created_at,
       greatest(lp.created_at, lp.published_at)
       + (pg_temp.rnd('page.updated', lp.g) % (30 * 86400)) * interval '1 second'
FROM (
    SELECT q.*,
           pg_temp.pick(ARRAY['Homecoming', 'Alumni Reunion', 'Career Fair', 'Giving Day',
                              'Mentorship Program', 'Networking Night', 'Scholarship Fund',
                              'Webinar Series', 'Graduate Spotlight', 'Volunteer Drive',
                              'Speaker Series', 'Class Notes'], 'page.topic', q.g)
           || ' ' || extract(YEAR FROM q.created_at) AS title,
           CASE WHEN pg_temp.unit('page.published', q.g) < 0.7
               THEN q.created_at
                    + (pg_temp.rnd('page.publish_delay', q.g) % (14 * 86400)) * interval '1 second'
           END AS published_at
    FROM (
        SELECT g, p.ord, p.tenant_id, p.first_id,
               pg_temp.moment('page.created', g, p.onboarded_at, p.active_days) AS created_at
        FROM sample_plan AS p
        CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
        WHERE p.tbl = 'landing_pages'
    ) AS q
) AS lp
JOIN sample_plan AS tp ON lp.ord = tp.ord AND tp.tbl = 'templates'
ORDER BY lp.g;

-- step: component_themes
-- The first theme of each tenant is its default, so there is exactly one.
INSERT INTO component_themes (id, tenant_id, name, slug, config, is_default,
                              created_at, updated_at)
SELECT th.g,
       th.tenant_id,
       th.name,
       lower(replace(th.name, ' ', '-')) || '-' || th.k,
       jsonb_build_object(
           'colors', jsonb_build_object(
               'primary', pg_temp.hex_color('theme.primary', th.g),
               'secondary', pg_temp.hex_color('theme.secondary', th.g),
               'background', pg_temp.pick(ARRAY['#ffffff', '#f8f9fa', '#111827'],
                                          'theme.background', th.g),
               'text', pg_temp.pick(ARRAY['#111827', '#1f2937', '#f9fafb'], 'theme.text', th.g)),
           'fonts', jsonb_build_object(
               'heading', pg_temp.pick(ARRAY['Merriweather', 'Playfair Display', 'Montserrat',
                                             'Poppins'], 'theme.heading', th.g),
               'body', pg_temp.pick(ARRAY['Inter', 'Roboto', 'Open Sans', 'Lato'],
                                    'theme.body', th.g),
               'base_size', pg_temp.pick(ARRAY['14px', '16px', '18px'], 'theme.size', th.g)),
           'spacing', jsonb_build_object(
               'unit', pg_temp.pick(ARRAY['4px', '8px'], 'theme.unit', th.g),
               'scale', 1 + (pg_temp.rnd('theme.scale', th.g) % 3) * 0.25)),
       th.k = 1,
       th.created_at,
       th.created_at + (pg_temp.rnd('theme.updated', th.g) % (180 * 86400)) * interval '1 second'
FROM (
    SELECT g,
           p.tenant_id,
           g - p.first_id + 1 AS k,
           CASE WHEN g = p.first_id THEN 'Default'
               ELSE pg_temp.pick(ARRAY['Midnight', 'Ocean', 'Forest', 'Sunrise', 'Campus',
                                       'Minimal', 'High Contrast', 'Heritage'], 'theme.name', g)
           END AS name,
           pg_temp.moment('theme.created', g, p.onboarded_at, p.active_days) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'component_themes'
) AS th
ORDER BY th.g;

-- step: template_performance_dashboards
-- Weekly figures per template over 2023-2024 (periods start on Mondays).
INSERT INTO template_performance_dashboards (id, tenant_id, template_id, period_start, views,
                                             conversions, conversion_rate, metrics,
                                             created_at, updated_at)
SELECT row_number() OVER (ORDER BY d.period_start, d.g),
       d.tenant_id,
       d.template_id,
       d.period_start,
       d.views,
       d.conversions,
       round(d.conversions::numeric / d.views, 4),
       json_build_object(
           'unique_visitors', (d.views * (0.6 + 0.3 * pg_temp.unit('dash.unique', d.g)))::int,
           'bounce_rate', round((0.2 + 0.6 * pg_temp.unit('dash.bounce', d.g))::numeric, 3),
           'avg_time_on_page_s', 10 + pg_temp.rnd('dash.time', d.g) % 290,
           'top_source', pg_temp.pick(ARRAY['direct', 'email', 'social', 'search', 'referral'],
                                      'dash.source', d.g)),
       (d.period_start + 7) + interval '2 hours',
       (d.period_start + 7) + interval '2 hours'
FROM (
    SELECT g,
           p.tenant_id,
           tp.first_id + pg_temp.rnd('dash.template', g) % tp.n AS template_id,
           date '2023-01-02' + (pg_temp.rnd('dash.week', g) % 104)::int * 7 AS period_start,
           v.views,
           (v.views * 0.15 * pg_temp.unit('dash.conversion', g))::int AS conversions
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    CROSS JOIN LATERAL (SELECT (20 + pg_temp.rnd('dash.views', g) % 5000)::int AS views) AS v
    JOIN sample_plan AS tp ON p.ord = tp.ord AND tp.tbl = 'templates'
    WHERE p.tbl = 'template_performance_dashboards'
) AS d;

-- step: brand_colors
INSERT INTO brand_colors (id, tenant_id, name, hex, created_at, updated_at)
SELECT c.g,
       c.tenant_id,
       (ARRAY['Primary', 'Secondary', 'Accent', 'Background', 'Text', 'Link', 'Success',
              'Warning', 'Danger', 'Muted'])[1 + c.k % 10]
       || CASE WHEN c.k >= 10 THEN ' ' || (c.k / 10 + 1) ELSE '' END,
       pg_temp.hex_color('color.hex', c.g),
       c.created_at,
       c.created_at + (pg_temp.rnd('color.updated', c.g) % (365 * 86400)) * interval '1 second'
FROM (
    SELECT g,
           p.tenant_id,
           g - p.first_id AS k,
           pg_temp.moment('color.created', g, p.onboarded_at, p.active_days) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'brand_colors'
) AS c
ORDER BY c.g;

-- step: brand_configs
-- Well-known keys first; a tenant with more settings gets feature flags.
INSERT INTO brand_configs (id, tenant_id, key, value, created_at, updated_at)
SELECT c.g,
       c.tenant_id,
       c.key,
       CASE c.key
           WHEN 'logo_url' THEN to_jsonb('https://cdn.alumate.test/' || c.tenant_id || '/logo.svg')
           WHEN 'favicon_url'
               THEN to_jsonb('https://cdn.alumate.test/' || c.tenant_id || '/favicon.ico')
           WHEN 'primary_color' THEN to_jsonb(pg_temp.hex_color('config.primary', c.g))
           WHEN 'secondary_color' THEN to_jsonb(pg_temp.hex_color('config.secondary', c.g))
           WHEN 'font_family'
               THEN to_jsonb(pg_temp.pick(ARRAY['Inter', 'Roboto', 'Open Sans', 'Lato'],
                                          'config.font', c.g))
           WHEN 'email_footer'
               THEN to_jsonb('You receive this email as a member of our alumni network.'::text)
           WHEN 'social_links' THEN jsonb_build_object(
               'linkedin', 'https://www.linkedin.com/school/' || c.tenant_id,
               'instagram', 'https://www.instagram.com/' || c.tenant_id || '_alumni')
           WHEN 'show_donate_button' THEN to_jsonb(pg_temp.unit('config.donate', c.g) < 0.6)
           WHEN 'support_email' THEN to_jsonb('alumni@' || c.tenant_id || '.example.edu')
           WHEN 'custom_css' THEN to_jsonb('.hero { min-height: 60vh; }'::text)
           ELSE jsonb_build_object('enabled', pg_temp.unit('config.flag', c.g) < 0.5,
                                   'rollout_percent', pg_temp.rnd('config.rollout', c.g) % 101)
       END,
       c.created_at,
       c.created_at + (pg_temp.rnd('config.updated', c.g) % (365 * 86400)) * interval '1 second'
FROM (
    SELECT g,
           p.tenant_id,
           coalesce((ARRAY['logo_url', 'favicon_url', 'primary_color', 'secondary_color',
                           'font_family', 'email_footer', 'social_links', 'show_donate_button',
                           'support_email', 'custom_css'])[g - p.first_id + 1],
                    'feature_flag_' || (g - p.first_id + 1)) AS key,
           pg_temp.moment('config.created', g, p.onboarded_at, p.active_days) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'brand_configs'
) AS c
ORDER BY c.g;

-- step: brand_fonts
INSERT INTO brand_fonts (id, tenant_id, family, weight, url, created_at, updated_at)
SELECT f.g,
       f.tenant_id,
       f.family,
       f.weight,
       'https://fonts.example.com/css2?family=' || replace(f.family, ' ', '+')
       || ':wght@' || f.weight,
       f.created_at,
       f.created_at AS updated_at
FROM (
    SELECT g,
           p.tenant_id,
           pg_temp.pick(ARRAY['Inter', 'Roboto', 'Open Sans', 'Lato', 'Merriweather',
                              'Playfair Display', 'Source Sans Pro', 'Montserrat', 'Poppins',
                              'Libre Baskerville'], 'font.family', g) AS family,
           pg_temp.pick(ARRAY['300', '400', '400', '500', '600', '700'],
                        'font.weight', g)::smallint AS weight,
           pg_temp.moment('font.created', g, p.onboarded_at, p.active_days) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'brand_fonts'
) AS f
ORDER BY f.g;

-- step: email_sequences
INSERT INTO email_sequences (id, tenant_id, name, slug, trigger_event, is_active,
                             created_at, updated_at)
SELECT s.g,
       s.tenant_id,
       s.name,
       lower(replace(s.name, ' ', '-')) || '-' || (s.g - s.first_id + 1),
       pg_temp.pick(ARRAY['user.registered', 'event.registered', 'donation.completed',
                          'user.inactive_90d', 'mentor.approved', 'job.applied'],
                    'sequence.trigger', s.g),
       pg_temp.unit('sequence.active', s.g) < 0.85,
       s.created_at,
       s.created_at + (pg_temp.rnd('sequence.updated', s.g) % (120 * 86400)) * interval '1 second'
FROM (
    SELECT g,
           p.tenant_id,
           p.first_id,
           pg_temp.pick(ARRAY['Welcome Series', 'Event Reminders', 'Giving Day Campaign',
                              'Re-engagement', 'Mentor Onboarding', 'Career Services Digest',
                              'Reunion Countdown', 'Newsletter Onboarding'],
                        'sequence.name', g) AS name,
           pg_temp.moment('sequence.created', g, p.onboarded_at, p.active_days) AS created_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    WHERE p.tbl = 'email_sequences'
) AS s
ORDER BY s.g;

-- step: sequence_emails
-- Dealt round-robin over the tenant's sequences, so positions are 1, 2, ...
-- within each sequence.
INSERT INTO sequence_emails (id, tenant_id, sequence_id, position, subject, body, delay_hours,
                             created_at, updated_at)
SELECT m.g,
       m.tenant_id,
       m.sequence_id,
       m.position,
       pg_temp.pick(ARRAY['Welcome to the alumni network', 'Complete your profile',
                          'Upcoming events near you', 'Meet your mentor',
                          'Support the scholarship fund', 'We miss you',
                          'Your alumni card is ready', 'Career resources for you'],
                    'email.subject', m.g),
       CASE WHEN pg_temp.unit('email.has_body', m.g) < 0.95
           THEN 'Hi {{first_name}}, ' || pg_temp.pick(ARRAY[
                    'here is what is happening in your alumni community this month.',
                    'your classmates are waiting to hear from you.',
                    'thank you for staying connected with us.'], 'email.body', m.g)
       END,
       CASE WHEN m.position = 1 THEN 0 ELSE (24 * (1 + pg_temp.rnd('email.delay', m.g) % 7))::int END,
       seq.created_at + m.created_after,
       seq.created_at + m.created_after
       + (pg_temp.rnd('email.updated', m.g) % (30 * 86400)) * interval '1 second'
FROM (
    SELECT g,
           p.tenant_id,
           sp.first_id + (g - p.first_id) % sp.n AS sequence_id,
           ((g - p.first_id) / sp.n + 1)::int AS position,
           (pg_temp.rnd('email.created', g) % (7 * 86400)) * interval '1 second' AS created_after
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    JOIN sample_plan AS sp ON p.ord = sp.ord AND sp.tbl = 'email_sequences'
    WHERE p.tbl = 'sequence_emails'
) AS m
JOIN email_sequences AS seq ON m.sequence_id = seq.id
ORDER BY m.g;

-- step: sequence_enrollments
INSERT INTO sequence_enrollments (id, tenant_id, sequence_id, user_id, status, enrolled_at,
                                  completed_at, created_at, updated_at)
SELECT row_number() OVER (ORDER BY e.enrolled_at, e.g),
       e.tenant_id,
       e.sequence_id,
       e.user_id,
       e.status,
       e.enrolled_at,
       e.completed_at,
       e.enrolled_at AS created_at,
       coalesce(e.completed_at, e.enrolled_at) AS updated_at
FROM (
    SELECT q.*,
           CASE WHEN q.status = 'completed'
               THEN q.enrolled_at
                    + (1 + pg_temp.rnd('enrollment.duration', q.g) % 60) * interval '1 day'
           END AS completed_at
    FROM (
        SELECT g,
               p.tenant_id,
               sp.first_id + pg_temp.rnd('enrollment.sequence', g) % sp.n AS sequence_id,
               pg_temp.first_alumnus()
               + pg_temp.rnd('enrollment.user', g) % pg_temp.alumni_count() AS user_id,
               CASE
                   WHEN pg_temp.unit('enrollment.status', g) < 0.50 THEN 'active'
                   WHEN pg_temp.unit('enrollment.status', g) < 0.85 THEN 'completed'
                   WHEN pg_temp.unit('enrollment.status', g) < 0.95 THEN 'unsubscribed'
                   ELSE 'paused'
               END AS status,
               pg_temp.moment('enrollment.at', g, timestamp '2023-01-01', 730) AS enrolled_at
        FROM sample_plan AS p
        CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
        JOIN sample_plan AS sp ON p.ord = sp.ord AND sp.tbl = 'email_sequences'
        WHERE p.tbl = 'sequence_enrollments'
    ) AS q
) AS e;

-- step: analytics_events
-- Most events are page views of the tenant's own landing pages. A visitor
-- (one session id, IP and browser) produces about four events.
INSERT INTO analytics_events (id, tenant_id, event_type, event_data, page_id, user_id,
                              session_id, ip_address, user_agent, occurred_at, created_at)
SELECT row_number() OVER (ORDER BY ev.occurred_at, ev.g),
       ev.tenant_id,
       ev.event_type,
       CASE ev.event_type
           WHEN 'page_view' THEN jsonb_build_object(
               'path', '/pages/' || ev.page,
               'referrer', pg_temp.pick(ARRAY['https://www.google.com/', 'https://www.linkedin.com/',
                                              'https://www.facebook.com/', 'https://mail.example.com/',
                                              ''], 'event.referrer', ev.g),
               'duration_ms', 500 + pg_temp.rnd('event.duration', ev.g) % 120000)
           WHEN 'click' THEN jsonb_build_object(
               'path', '/pages/' || ev.page,
               'element', pg_temp.pick(ARRAY['cta-button', 'nav-link', 'hero-image', 'footer-link',
                                             'share-button'], 'event.element', ev.g))
           WHEN 'form_submit' THEN jsonb_build_object(
               'form', pg_temp.pick(ARRAY['newsletter', 'event-rsvp', 'contact', 'donation',
                                          'mentor-signup'], 'event.form', ev.g),
               'fields', 2 + pg_temp.rnd('event.fields', ev.g) % 6)
           WHEN 'download' THEN jsonb_build_object(
               'file', pg_temp.pick(ARRAY['annual-report.pdf', 'alumni-magazine.pdf',
                                          'event-brochure.pdf', 'career-guide.pdf'],
                                    'event.file', ev.g),
               'bytes', 100000 + pg_temp.rnd('event.bytes', ev.g) % 5000000)
           ELSE jsonb_build_object(
               'method', pg_temp.pick(ARRAY['email', 'google', 'linkedin'], 'event.method', ev.g),
               'campaign', pg_temp.pick(ARRAY['giving-day', 'homecoming', 'newsletter', 'none'],
                                        'event.campaign', ev.g))
       END,
       CASE WHEN ev.event_type IN ('page_view', 'click', 'form_submit') THEN ev.page END,
       CASE WHEN pg_temp.unit('event.signed_in', ev.g) < 0.3
           THEN 1 + pg_temp.rnd('event.user', ev.g) % pg_temp.user_count()
       END,
       lpad(to_hex(pg_temp.rnd('session.id1', ev.visitor)), 16, '0')
       || lpad(to_hex(pg_temp.rnd('session.id2', ev.visitor)), 16, '0'),
       '0.0.0.0'::inet + (16777216 + pg_temp.rnd('session.ip', ev.visitor) % 3607101440),
       pg_temp.pick(ARRAY[
           'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
           'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15',
           'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1',
           'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36',
           'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0'
       ], 'session.agent', ev.visitor),
       ev.occurred_at,
       ev.occurred_at AS created_at
FROM (
    SELECT g,
           p.tenant_id,
           CASE
               WHEN pg_temp.unit('event.type', g) < 0.70 THEN 'page_view'
               WHEN pg_temp.unit('event.type', g) < 0.82 THEN 'click'
               WHEN pg_temp.unit('event.type', g) < 0.90 THEN 'form_submit'
               WHEN pg_temp.unit('event.type', g) < 0.95 THEN 'download'
               ELSE 'signup'
           END AS event_type,
           lp.first_id + pg_temp.rnd('event.page', g) % lp.n AS page,
           -- Visitors are numbered per tenant; the tenant's first draw number
           -- keeps two tenants' visitors apart.
           p.first_id + pg_temp.rnd('event.visitor', g) % (p.n / 4 + 1) AS visitor,
           pg_temp.moment('event.at', g, timestamp '2023-01-01', 730) AS occurred_at
    FROM sample_plan AS p
    CROSS JOIN LATERAL generate_series(p.first_id, p.first_id + p.n - 1) AS g
    JOIN sample_plan AS lp ON p.ord = lp.ord AND lp.tbl = 'landing_pages'
    WHERE p.tbl = 'analytics_events'
) AS ev;
