-- A worker-day's earnings and platform shares as `text`: the service writes them
-- (`serde_json`, compact) and reads them whole, never queried inside. `json` validated
-- every value on the way in, which cost a full recompute's COPY of every day about a
-- sixth of the writing backend's time. The bytes stay the same (`json` keeps its text);
-- the table is rewritten once. Queries that look inside cast: `earnings::json -> 'EUR'`.
ALTER TABLE worker_days
    ALTER COLUMN earnings TYPE text,
    ALTER COLUMN platforms TYPE text;
