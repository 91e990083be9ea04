-- Webhook signing secrets: several per platform at once (rotation), sealed at rest.
CREATE TABLE platform_secrets (
    id          uuid        PRIMARY KEY,
    platform_id text        NOT NULL REFERENCES platforms (id),
    sealed      bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX platform_secrets_active ON platform_secrets (platform_id) WHERE revoked_at IS NULL;

-- A platform's CSV export layout (declarative mapping, see adapters::csv).
ALTER TABLE platforms ADD COLUMN csv_mapping jsonb;

-- Platform accounts: a platform's reference for a worker, and the gigcover worker it is
-- linked to (NULL while unlinked: its activity is held until a link arrives).
CREATE TABLE platform_accounts (
    platform_id text        NOT NULL REFERENCES platforms (id),
    worker_ref  text        NOT NULL,
    worker_id   uuid,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, worker_ref)
);
CREATE INDEX platform_accounts_worker ON platform_accounts (worker_id) WHERE worker_id IS NOT NULL;

-- Every link and unlink, kept.
CREATE TABLE account_links (
    id          bigserial   PRIMARY KEY,
    platform_id text        NOT NULL,
    worker_ref  text        NOT NULL,
    worker_id   uuid        NOT NULL,
    linked_at   timestamptz NOT NULL DEFAULT now(),
    unlinked_at timestamptz,
    FOREIGN KEY (platform_id, worker_ref) REFERENCES platform_accounts (platform_id, worker_ref)
);

-- One-time link codes, stored as SHA-256 hashes.
CREATE TABLE link_codes (
    code_hash   bytea       PRIMARY KEY,
    platform_id text        NOT NULL,
    worker_ref  text        NOT NULL,
    expires_at  timestamptz NOT NULL,
    redeemed_at timestamptz,
    redeemed_by uuid,
    FOREIGN KEY (platform_id, worker_ref) REFERENCES platform_accounts (platform_id, worker_ref)
);

-- The canonical activities: one row per (platform, external id), the current version.
CREATE TABLE activities (
    platform_id  text        NOT NULL,
    external_id  text        NOT NULL,
    worker_ref   text        NOT NULL,
    worker_id    uuid,
    kind         text        NOT NULL CHECK (kind IN ('session', 'engagement')),
    status       text        NOT NULL CHECK (status IN ('completed', 'cancelled')),
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at AND ends_at - starts_at <= interval '24 hours'),
    distance_km  numeric     CHECK (distance_km >= 0),
    currency     text,
    pay          numeric     CHECK (pay >= 0),
    tips         numeric     CHECK (tips >= 0),
    bonus        numeric     CHECK (bonus >= 0),
    fees         numeric     CHECK (fees >= 0),
    retracted    boolean     NOT NULL DEFAULT false,
    version      integer     NOT NULL DEFAULT 1,
    content_hash bytea       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, external_id)
);
CREATE INDEX activities_worker_time ON activities (worker_id, starts_at) WHERE worker_id IS NOT NULL;
CREATE INDEX activities_held ON activities (platform_id, worker_ref) WHERE worker_id IS NULL;

-- Earlier versions of changed or retracted activities.
CREATE TABLE activity_history (
    platform_id  text        NOT NULL,
    external_id  text        NOT NULL,
    version      integer     NOT NULL,
    content      jsonb       NOT NULL,
    replaced_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, external_id, version)
);

-- Start/end events of tasks and shifts that arrive separately (gig events, shifts).
CREATE TABLE open_intervals (
    platform_id text        NOT NULL,
    external_id text        NOT NULL,
    worker_ref  text        NOT NULL,
    kind        text        NOT NULL,
    started_at  timestamptz,
    ended_at    timestamptz,
    status      text,
    distance_km numeric,
    currency    text,
    pay         numeric,
    tips        numeric,
    bonus       numeric,
    fees        numeric,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, external_id)
);
CREATE INDEX open_intervals_open ON open_intervals (platform_id, started_at) WHERE ended_at IS NULL;

-- Webhook event ids seen, so a replayed event is harmless.
CREATE TABLE webhook_events (
    platform_id text        NOT NULL,
    event_id    text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, event_id)
);

-- Batch idempotency keys and the first response (Stripe semantics).
CREATE TABLE idempotency_keys (
    platform_id  text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform_id, key)
);

-- What was accepted, in the platform's own format (fields we read only), compressed.
CREATE TABLE raw_archive (
    id          bigserial   PRIMARY KEY,
    platform_id text        NOT NULL,
    source      text        NOT NULL CHECK (source IN ('webhook', 'batch', 'upload')),
    records     integer     NOT NULL,
    body_gzip   bytea       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX raw_archive_received ON raw_archive (received_at);

-- Per-platform ingestion status, updated with every commit.
CREATE TABLE ingestion_status (
    platform_id       text        PRIMARY KEY REFERENCES platforms (id),
    last_received_at  timestamptz,
    last_event_end_at timestamptz,
    accepted_total    bigint      NOT NULL DEFAULT 0,
    rejected_total    bigint      NOT NULL DEFAULT 0
);
