-- The platform registry: who may send us activity, from which market, in which format.
CREATE TABLE platforms (
    id          text        PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    country     text        NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    time_zone   text        NOT NULL,
    currency    text        NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    category    text        NOT NULL,
    adapter     text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
