-- Insurers' products and their tariffs (versioned, never changed once published), and the
-- quotes priced on them, each frozen with its tariff version, inputs and explanation.
CREATE TABLE products (
    id          uuid        PRIMARY KEY,
    insurer_id  text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('accident', 'income_protection', 'liability', 'equipment')),
    name        text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX products_by_insurer ON products (insurer_id);
CREATE INDEX products_by_kind ON products (kind);

CREATE TABLE tariff_versions (
    product_id     uuid        NOT NULL REFERENCES products (id),
    version        integer     NOT NULL CHECK (version > 0),
    document       jsonb       NOT NULL,
    effective_from timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, version)
);

CREATE TABLE quotes (
    id             uuid        PRIMARY KEY,
    insurer_id     text        NOT NULL,
    worker_id      uuid        NOT NULL,
    product_id     uuid        NOT NULL REFERENCES products (id),
    tariff_version integer     NOT NULL,
    premium        numeric     NOT NULL,
    currency       text        NOT NULL,
    inputs         jsonb       NOT NULL,
    lines          jsonb       NOT NULL,
    valid_until    timestamptz NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (product_id, tariff_version) REFERENCES tariff_versions (product_id, version)
);
CREATE INDEX quotes_by_worker ON quotes (worker_id);
CREATE INDEX quotes_by_insurer ON quotes (insurer_id);
