-- A worker-day's earnings and platform shares are written whole and read whole by the
-- service, never queried inside: `json` keeps the text as the service wrote it (validated),
-- where `jsonb` parses every value into its binary form, which cost a full recompute's
-- COPY of every day about a fifth of its time.
ALTER TABLE worker_days
    ALTER COLUMN earnings TYPE json USING earnings::json,
    ALTER COLUMN platforms TYPE json USING platforms::json;
