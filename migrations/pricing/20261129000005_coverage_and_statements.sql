-- What a quote covers and how it is billed (frozen with it, and with the policy bound from
-- it); renewal quotes name the policy they renew.
ALTER TABLE quotes ADD COLUMN coverage jsonb;
ALTER TABLE quotes ADD COLUMN renews uuid;
-- Quotes from before: what their tariff version says (no hourly rate: they are not billed).
UPDATE quotes q SET coverage = jsonb_strip_nulls(jsonb_build_object(
        'definition', t.document -> 'basis' -> 'per_insured_hour' ->> 'definition',
        'rounding', COALESCE(t.document ->> 'rounding', 'half_even'),
        'min_premium', t.document ->> 'min_premium', 'max_premium', t.document ->> 'max_premium'))
    FROM tariff_versions t WHERE t.product_id = q.product_id AND t.version = q.tariff_version;
ALTER TABLE quotes ALTER COLUMN coverage SET NOT NULL;
ALTER TABLE policies ADD COLUMN coverage jsonb;
UPDATE policies p SET coverage = q.coverage FROM quotes q WHERE q.id = p.quote_id;
ALTER TABLE policies ALTER COLUMN coverage SET NOT NULL;
ALTER TABLE policies ADD COLUMN renews uuid;
CREATE UNIQUE INDEX policies_one_renewal ON policies (renews) WHERE renews IS NOT NULL;

-- Usage-based billing: a statement per policy and local calendar month. Provisional
-- statements are computed on read; a finalised one is stored here and never changes.
CREATE TABLE statements (
    policy_id    uuid        NOT NULL REFERENCES policies (id),
    month        date        NOT NULL CHECK (extract(day FROM month) = 1),
    insurer_id   text        NOT NULL,
    worker_id    uuid        NOT NULL,
    document     jsonb       NOT NULL,
    finalized_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (policy_id, month)
);
CREATE INDEX statements_by_insurer ON statements (insurer_id, month);
CREATE INDEX statements_by_worker ON statements (worker_id, month);

-- The insured hours billed so far for each day of a policy (by its statement, then by
-- adjustments on later ones): a late change is billed as the difference, once.
CREATE TABLE billed_days (
    policy_id uuid    NOT NULL REFERENCES policies (id),
    day       date    NOT NULL,
    hours     numeric NOT NULL,
    PRIMARY KEY (policy_id, day)
);
