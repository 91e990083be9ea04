-- Signed webhooks whose signature and events were checked, stored before the platform
-- is answered 202: their events as read (known fields only, NDJSON, as archived).
-- `webhooks::apply` writes them through the one write path in large groups and deletes
-- them in the same transaction. A row that cannot be applied alone, while others can, is
-- kept with its failure and counted in the platform's status.
CREATE TABLE webhook_inbox (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform_id text NOT NULL,
    received_at timestamptz NOT NULL,
    records     bytea NOT NULL,
    traceparent text,
    tracestate  text,
    failed_at   timestamptz,
    failure     text
);
