-- Keys the identity service signs tokens with. The newest unretired key signs; the JWKS
-- publishes it and the one before, so tokens signed just before a rotation still verify.
CREATE TABLE signing_keys (
    kid          text        PRIMARY KEY,
    alg          text        NOT NULL CHECK (alg IN ('EdDSA')),
    private_key  bytea       NOT NULL,
    public_key   bytea       NOT NULL CHECK (length(public_key) = 32),
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz
);
