-- Idempotency keys in the kit's one shape (scope = the platform whose keys they are).
ALTER TABLE idempotency_keys RENAME COLUMN platform_id TO scope;
