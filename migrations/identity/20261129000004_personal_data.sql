-- Workers' personal data, encrypted with a data key per worker (envelope encryption: the
-- data key is stored only wrapped by the master key). Erasure destroys the data key, so
-- every copy of the ciphertext (backups included) becomes unreadable, then deletes the rows.
CREATE TABLE worker_keys (
    worker_id   uuid        PRIMARY KEY,
    wrapped_key bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE personal_data (
    worker_id  uuid        PRIMARY KEY REFERENCES worker_keys (worker_id),
    sealed     bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- That an erasure happened (no personal data): what remains is pseudonymous.
CREATE TABLE erasures (
    worker_id uuid        PRIMARY KEY,
    erased_at timestamptz NOT NULL DEFAULT now()
);
