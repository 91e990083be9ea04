-- The insured-time definition of the tariff version a policy froze (claims verify accidents
-- against it); null for products priced without one.
ALTER TABLE policies ADD COLUMN definition text;
