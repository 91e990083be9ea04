-- Enrichment's own copy of the intervals it needs (from aggregation's activity.changed
-- feed), and the figures it computes from them.

CREATE TABLE intervals (
    worker_id   uuid        NOT NULL,
    platform_id text        NOT NULL,
    external_id text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('session', 'engagement')),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL CHECK (ends_at > starts_at),
    distance_km numeric,
    currency    text,
    pay         numeric,
    tips        numeric,
    bonus       numeric,
    fees        numeric,
    version     integer     NOT NULL,
    PRIMARY KEY (worker_id, platform_id, external_id)
);
CREATE INDEX intervals_by_time ON intervals (worker_id, starts_at);

-- The market time zone a worker's days are counted in.
CREATE TABLE worker_zones (
    worker_id uuid PRIMARY KEY,
    time_zone text NOT NULL
);

-- One row per worker and local day with any activity. Deterministic: recomputing from the
-- intervals gives the same bytes.
CREATE TABLE worker_days (
    worker_id          uuid    NOT NULL,
    day                date    NOT NULL,
    time_zone          text    NOT NULL,
    online_ms          bigint  NOT NULL,
    engaged_ms         bigint  NOT NULL,
    multi_app_ms       bigint  NOT NULL,
    night_engaged_ms   bigint  NOT NULL,
    weekend_engaged_ms bigint  NOT NULL,
    online_inferred    boolean NOT NULL,
    jobs               integer NOT NULL,
    distance_km        numeric NOT NULL,
    -- {"EUR": {"pay": "..", "tips": "..", "bonus": "..", "fees": ".."}}
    earnings           jsonb   NOT NULL,
    -- {"platform-id": {"online_ms": .., "engaged_ms": ..}}
    platforms          jsonb   NOT NULL,
    PRIMARY KEY (worker_id, day)
);

-- Insured-time definitions: named, versioned, never changed once written.
CREATE TABLE insured_time_definitions (
    name        text        NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    version     integer     NOT NULL CHECK (version > 0),
    description text        NOT NULL,
    spec        jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, version)
);

INSERT INTO insured_time_definitions (name, version, description, spec) VALUES
    ('job-plus-15m', 1, 'From accepting a job to 15 minutes after completing it',
     '{"basis": "engaged", "extend_after_secs": 900}'),
    ('job-start-1h-min', 1, 'From job start, at least one hour, ending after a gap of more than 10 minutes',
     '{"basis": "engaged", "merge_gap_secs": 600, "min_block_secs": 3600}'),
    ('any-online', 1, 'Any time logged in on any platform',
     '{"basis": "online"}');
