-- Worker-owned consent: one current grant per worker and insurer, every change kept in an
-- audit log, and every read an insurer makes of a worker's data recorded.
CREATE TABLE consents (
    worker_id   uuid        NOT NULL,
    insurer_id  text        NOT NULL,
    scope       text        NOT NULL CHECK (scope IN ('hours', 'hours_and_earnings', 'activity_detail')),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz,
    PRIMARY KEY (worker_id, insurer_id)
);

CREATE TABLE consent_audit (
    id          bigserial   PRIMARY KEY,
    worker_id   uuid        NOT NULL,
    insurer_id  text        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('granted', 'changed', 'revoked')),
    scope       text,
    expires_at  timestamptz,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consent_audit_by_worker ON consent_audit (worker_id, id);

CREATE TABLE access_log (
    id          bigserial   PRIMARY KEY,
    worker_id   uuid        NOT NULL,
    insurer_id  text        NOT NULL,
    scope       text        NOT NULL,
    service     text        NOT NULL,
    resource    text        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX access_log_by_worker ON access_log (worker_id, id);
