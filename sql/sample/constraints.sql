-- Foreign keys and secondary indexes of the sample, added once the rows are in:
-- one validation query and one sorted index build per table are far cheaper
-- than per-row trigger checks and index inserts (the order pg_dump restores in).
-- Constraint names are PostgreSQL's defaults, the same as inline REFERENCES.

-- Central
ALTER TABLE domains ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE institutions ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE users ADD FOREIGN KEY (institution_id) REFERENCES institutions (id);
ALTER TABLE users ADD FOREIGN KEY (role_id) REFERENCES roles (id);
CREATE INDEX domains_tenant_id_idx ON domains (tenant_id);
CREATE INDEX institutions_tenant_id_idx ON institutions (tenant_id);
CREATE INDEX users_institution_id_idx ON users (institution_id);

-- Moved tables. data.sql picks every parent among the rows of the child's own
-- tenant, which the migration relies on to make these FKs tenant-local.
ALTER TABLE templates ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);

ALTER TABLE template_variants ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE template_variants ADD FOREIGN KEY (template_id) REFERENCES templates (id);
CREATE INDEX template_variants_tenant_template_idx ON template_variants (tenant_id, template_id);

ALTER TABLE landing_pages ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE landing_pages ADD FOREIGN KEY (template_id) REFERENCES templates (id);
CREATE INDEX landing_pages_template_id_idx ON landing_pages (template_id);

ALTER TABLE component_themes ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);

ALTER TABLE analytics_events ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
CREATE INDEX analytics_events_tenant_type_time_idx
    ON analytics_events (tenant_id, event_type, occurred_at DESC);
-- Keyset batches by id within one tenant.
CREATE INDEX analytics_events_tenant_id_id_idx ON analytics_events (tenant_id, id);

ALTER TABLE template_performance_dashboards ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE template_performance_dashboards
    ADD FOREIGN KEY (template_id) REFERENCES templates (id);
CREATE INDEX template_performance_dashboards_tenant_template_period_idx
    ON template_performance_dashboards (tenant_id, template_id, period_start);

ALTER TABLE brand_colors ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
CREATE INDEX brand_colors_tenant_id_idx ON brand_colors (tenant_id);

ALTER TABLE brand_configs ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);

ALTER TABLE brand_fonts ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
CREATE INDEX brand_fonts_tenant_id_idx ON brand_fonts (tenant_id);

ALTER TABLE email_sequences ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);

ALTER TABLE sequence_emails ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE sequence_emails ADD FOREIGN KEY (sequence_id) REFERENCES email_sequences (id);
CREATE INDEX sequence_emails_tenant_sequence_position_idx
    ON sequence_emails (tenant_id, sequence_id, position);

ALTER TABLE sequence_enrollments ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE sequence_enrollments ADD FOREIGN KEY (sequence_id) REFERENCES email_sequences (id);
ALTER TABLE sequence_enrollments ADD FOREIGN KEY (user_id) REFERENCES users (id);
CREATE INDEX sequence_enrollments_tenant_sequence_idx
    ON sequence_enrollments (tenant_id, sequence_id);
CREATE INDEX sequence_enrollments_user_id_idx ON sequence_enrollments (user_id);

-- Hybrid
ALTER TABLE employers ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE employers ADD FOREIGN KEY (company_id) REFERENCES companies (id);
CREATE INDEX employers_tenant_id_idx ON employers (tenant_id);

ALTER TABLE jobs ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE jobs ADD FOREIGN KEY (employer_id) REFERENCES employers (id);
CREATE INDEX jobs_tenant_id_idx ON jobs (tenant_id);
-- The cross-tenant job board lists public, active postings.
CREATE INDEX jobs_public_status_idx ON jobs (is_public, status);

ALTER TABLE leads ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
CREATE INDEX leads_tenant_id_idx ON leads (tenant_id);
