-- OAuth2 clients (client credentials, RFC 6749 section 4.4): insurer partners, platforms,
-- ops, and our own services. Secrets are stored as argon2id hashes only.
CREATE TABLE clients (
    client_id    text        PRIMARY KEY CHECK (client_id ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    name         text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('insurer', 'platform', 'ops', 'service')),
    tenant       text,
    scopes       text[]      NOT NULL DEFAULT '{}',
    secret_hash  text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    rotated_at   timestamptz,
    revoked_at   timestamptz,
    CHECK (role NOT IN ('insurer', 'platform') OR tenant IS NOT NULL)
);
