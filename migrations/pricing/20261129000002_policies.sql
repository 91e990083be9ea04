-- A policy binds one quote (at most once), with its frozen tariff version and premium.
CREATE TABLE policies (
    id             uuid        PRIMARY KEY,
    quote_id       uuid        NOT NULL UNIQUE REFERENCES quotes (id),
    insurer_id     text        NOT NULL,
    worker_id      uuid        NOT NULL,
    product_id     uuid        NOT NULL REFERENCES products (id),
    tariff_version integer     NOT NULL,
    kind           text        NOT NULL,
    premium        numeric     NOT NULL,
    currency       text        NOT NULL,
    status         text        NOT NULL CHECK (status IN ('active', 'cancelled', 'lapsed')),
    starts_at      timestamptz NOT NULL,
    ends_at        timestamptz NOT NULL CHECK (ends_at > starts_at),
    cancelled_at   timestamptz,
    refund         numeric,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX policies_by_worker ON policies (worker_id);
CREATE INDEX policies_by_insurer ON policies (insurer_id);
