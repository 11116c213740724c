-- Validation results per tenant: when `tenancy validate` last checked the
-- tenant and whether every check passed. A result counts only while it is
-- newer than the tenant's migration (tenancy.tenant_status compares it with
-- finished_at), so a rollback or a new migration makes it stale by itself.
-- Safe to run again.

ALTER TABLE tenancy.tenants ADD COLUMN IF NOT EXISTS validated_at timestamptz;
ALTER TABLE tenancy.tenants ADD COLUMN IF NOT EXISTS validation_passed boolean;
ALTER TABLE tenancy.tenants ADD COLUMN IF NOT EXISTS failed_checks integer;

COMMENT ON COLUMN tenancy.tenants.validated_at IS
'When tenancy.record_validation last recorded a validation of this tenant.';
COMMENT ON COLUMN tenancy.tenants.validation_passed IS
'Whether every check of that validation passed.';
COMMENT ON COLUMN tenancy.tenants.failed_checks IS
'How many checks of that validation failed.';
