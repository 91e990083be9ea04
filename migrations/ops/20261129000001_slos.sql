-- SLO samples: for each SLO and scrape, how many events were good and how many counted
-- since the previous scrape; a window's SLI is the sums over its samples.
CREATE TABLE slo_samples (
    slo   text        NOT NULL,
    at    timestamptz NOT NULL,
    good  bigint      NOT NULL CHECK (good >= 0),
    total bigint      NOT NULL CHECK (total >= good)
);
CREATE INDEX slo_samples_by_slo ON slo_samples (slo, at);

-- Alerts: one open alert per SLO and severity (deduplicated), pending -> firing -> resolved.
CREATE TABLE alerts (
    id          uuid        PRIMARY KEY,
    slo         text        NOT NULL,
    severity    text        NOT NULL CHECK (severity IN ('page', 'ticket')),
    state       text        NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    opened_at   timestamptz NOT NULL DEFAULT now(),
    fired_at    timestamptz,
    resolved_at timestamptz,
    burn        jsonb       NOT NULL,
    silenced    boolean     NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX alerts_one_open ON alerts (slo, severity) WHERE state <> 'resolved';
CREATE INDEX alerts_recent ON alerts (opened_at DESC);

-- Silences: while one matches, an alert is tracked but nobody is notified.
CREATE TABLE silences (
    id         uuid        PRIMARY KEY,
    slo        text,
    severity   text CHECK (severity IN ('page', 'ticket')),
    starts_at  timestamptz NOT NULL DEFAULT now(),
    ends_at    timestamptz NOT NULL,
    reason     text        NOT NULL,
    created_by text        NOT NULL,
    CHECK (ends_at > starts_at)
);

-- Notifications to send (firing, resolved), each to one receiver, retried until delivered.
CREATE TABLE notifications (
    id              uuid        PRIMARY KEY,
    alert_id        uuid        NOT NULL REFERENCES alerts (id),
    receiver        text        NOT NULL,
    payload         jsonb       NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE delivered_at IS NULL;
