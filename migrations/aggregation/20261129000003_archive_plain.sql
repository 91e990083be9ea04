-- The raw archive is stored as plain NDJSON and compressed by PostgreSQL itself (lz4 TOAST
-- compression where the server has it), instead of gzip in the service: the service's
-- CPU went to gzip on the ingestion hot path. Rows written before keep encoding 'gzip'.
ALTER TABLE raw_archive RENAME COLUMN body_gzip TO body;
ALTER TABLE raw_archive ADD COLUMN encoding text NOT NULL DEFAULT 'gzip' CHECK (encoding IN ('gzip', 'ndjson'));
ALTER TABLE raw_archive ALTER COLUMN encoding SET DEFAULT 'ndjson';
DO $$
BEGIN
    ALTER TABLE raw_archive ALTER COLUMN body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 unavailable on this server; raw_archive keeps the default TOAST compression';
END $$;
