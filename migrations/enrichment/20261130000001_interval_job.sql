-- An interval's job figures (currency, distance, pay, tips, bonus, fees) in one `text`
-- column, written and read whole by the service (`services/enrichment/src/job_column.rs`
-- has the format). A full recompute reads every interval through `COPY`, whose cost per
-- row is mostly its number of fields: with six in one, it took about a quarter less time.
ALTER TABLE intervals ADD COLUMN job text
    CONSTRAINT intervals_job_format CHECK (job ~ '^([A-Z]{3}|-)( (-?[0-9]+(\.[0-9]+)?|-)){5}$');

UPDATE intervals
SET job = concat_ws(' ', coalesce(currency, '-'), coalesce(distance_km::text, '-'), coalesce(pay::text, '-'),
                    coalesce(tips::text, '-'), coalesce(bonus::text, '-'), coalesce(fees::text, '-'))
WHERE num_nonnulls(currency, distance_km, pay, tips, bonus, fees) > 0;

ALTER TABLE intervals
    DROP COLUMN distance_km,
    DROP COLUMN currency,
    DROP COLUMN pay,
    DROP COLUMN tips,
    DROP COLUMN bonus,
    DROP COLUMN fees;
