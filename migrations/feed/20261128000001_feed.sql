-- The event feed's tables, created in each service's own schema (search_path).

-- Events this service publishes. `position` is assigned at commit time under an advisory
-- lock, so positions appear to readers in order: a reader never sees 11 before 10.
CREATE SEQUENCE outbox_position AS bigint;

CREATE TABLE outbox (
    position     bigint      PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    payload      jsonb       NOT NULL,
    traceparent  text,
    tracestate   text,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

-- Events this service has applied from other services' feeds: the idempotency record.
CREATE TABLE inbox (
    source       text        NOT NULL,
    event_id     uuid        NOT NULL,
    position     bigint      NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);

-- How far this service has read each feed it consumes.
CREATE TABLE feed_cursors (
    source       text        PRIMARY KEY,
    position     bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
