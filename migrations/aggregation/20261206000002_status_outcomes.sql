-- What the records a platform sent came to, by outcome (for records stored from now on,
-- accepted_total grows by their sum less duplicates): webhooks are answered before they
-- are applied, so this is where a platform sees what applying them did.
ALTER TABLE ingestion_status
    ADD COLUMN inserted_total   bigint NOT NULL DEFAULT 0,
    ADD COLUMN updated_total    bigint NOT NULL DEFAULT 0,
    ADD COLUMN unchanged_total  bigint NOT NULL DEFAULT 0,
    ADD COLUMN retracted_total  bigint NOT NULL DEFAULT 0,
    ADD COLUMN pending_total    bigint NOT NULL DEFAULT 0,
    ADD COLUMN duplicates_total bigint NOT NULL DEFAULT 0;
