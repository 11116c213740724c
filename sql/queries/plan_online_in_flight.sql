-- Whether tenants are being migrated online: some are captured or cut over, and the shared tables are not contracted.
SELECT
    EXISTS (SELECT 1 FROM tenancy.online_tenants)
    AND NOT EXISTS (SELECT 1 FROM tenancy.contraction) AS in_flight
