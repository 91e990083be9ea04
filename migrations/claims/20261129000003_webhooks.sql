-- Insurers' webhooks: the claim events of their claims, signed, delivered in feed order,
-- at least once, retried with backoff, replayable from any position.
CREATE TABLE insurer_webhooks (
    id              uuid        PRIMARY KEY,
    insurer_id      text        NOT NULL,
    url             text        NOT NULL,
    -- The signing secret, sealed with the master key (it must be read to sign).
    secret_sealed   bytea       NOT NULL,
    -- The last outbox position delivered (or not meant for this insurer).
    position        bigint      NOT NULL,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    failures        integer     NOT NULL DEFAULT 0,
    last_error      text,
    deleted_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX insurer_webhooks_by_insurer ON insurer_webhooks (insurer_id) WHERE deleted_at IS NULL;
CREATE INDEX insurer_webhooks_due ON insurer_webhooks (next_attempt_at) WHERE deleted_at IS NULL;

CREATE TABLE webhook_attempts (
    id          bigserial   PRIMARY KEY,
    webhook_id  uuid        NOT NULL REFERENCES insurer_webhooks (id),
    position    bigint      NOT NULL,
    event_id    uuid        NOT NULL,
    status      integer,
    error       text,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, id DESC);
