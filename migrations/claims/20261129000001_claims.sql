-- Claims as filed, with the automatic verification's recommendation (never a decision)
-- and every status change.
CREATE TABLE claims (
    id             uuid        PRIMARY KEY,
    worker_id      uuid        NOT NULL,
    insurer_id     text        NOT NULL,
    policy_id      uuid        NOT NULL,
    claim_type     text        NOT NULL CHECK (claim_type IN ('accident', 'income_loss', 'equipment')),
    incident_at    timestamptz,
    period_start   timestamptz,
    period_end     timestamptz,
    description    text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('submitted', 'in_review', 'approved', 'rejected', 'paid')),
    recommendation text        NOT NULL CHECK (recommendation IN ('approve', 'refer', 'reject')),
    reasons        jsonb       NOT NULL,
    evidence       jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claims_by_worker ON claims (worker_id);
CREATE INDEX claims_by_insurer ON claims (insurer_id);

CREATE TABLE claim_status_history (
    id       bigserial   PRIMARY KEY,
    claim_id uuid        NOT NULL REFERENCES claims (id),
    status   text        NOT NULL,
    note     text,
    at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
