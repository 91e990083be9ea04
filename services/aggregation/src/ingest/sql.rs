//! SQL shared by the general write (several statements in a transaction) and the
//! one-statement write of new webhook records, so both store the same rows. Parameter
//! numbers and conditions are arguments: each statement places them where it binds them.

/// Inserts the activities of an `ActivityColumns` (bound as $2..$14, the platform as $1)
/// that pass `$filter` (a `WHERE` clause, or nothing), attributed to the linked worker
/// where the account is linked; a conflict clause may follow. The worker is looked up per
/// row by the accounts' primary key: a join let the planner hash every account of the
/// platform on each write (with stale statistics, even for a webhook's handful of rows), a
/// cost that grows with the platform, not with the write.
macro_rules! insert_activities {
    ($filter:expr) => {
        concat!(
            "INSERT INTO activities (platform_id, external_id, worker_ref, worker_id, kind, status, starts_at, ends_at,
                                     distance_km, currency, pay, tips, bonus, fees, content_hash)
             SELECT $1, u.external_id, u.worker_ref,
                    (SELECT pa.worker_id FROM platform_accounts pa WHERE pa.platform_id = $1 AND pa.worker_ref = u.worker_ref),
                    u.kind, u.status, u.starts_at, u.ends_at,
                    u.distance_km, u.currency, u.pay, u.tips, u.bonus, u.fees, u.content_hash
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                         $8::numeric[], $9::text[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::bytea[])
                  AS u(external_id, worker_ref, kind, status, starts_at, ends_at, distance_km, currency, pay, tips, bonus, fees, content_hash) ",
            $filter,
            " ORDER BY u.external_id"
        )
    };
}

/// Archives records (NDJSON `$body`, `$records` of them) when there are any and `$when` holds.
macro_rules! insert_archive {
    ($platform:expr, $source:expr, $records:expr, $body:expr, $when:expr) => {
        concat!(
            "INSERT INTO raw_archive (platform_id, source, records, body) SELECT ",
            $platform,
            "::text, ",
            $source,
            "::text, ",
            $records,
            "::int, ",
            $body,
            "::bytea WHERE ",
            $records,
            "::int > 0 AND ",
            $when
        )
    };
}

/// Moves the platform's ingestion status forward, when `$when` holds.
macro_rules! upsert_status {
    ($platform:expr, $last_end:expr, $accepted:expr, $rejected:expr, $when:expr) => {
        concat!(
            "INSERT INTO ingestion_status (platform_id, last_received_at, last_event_end_at, accepted_total, rejected_total)
             SELECT ", $platform, "::text, now(), ", $last_end, "::timestamptz, ", $accepted, "::bigint, ", $rejected, "::bigint
             WHERE ", $when, "
             ON CONFLICT (platform_id) DO UPDATE SET
                 last_received_at = now(),
                 last_event_end_at = GREATEST(ingestion_status.last_event_end_at, EXCLUDED.last_event_end_at),
                 accepted_total = ingestion_status.accepted_total + EXCLUDED.accepted_total,
                 rejected_total = ingestion_status.rejected_total + EXCLUDED.rejected_total"
        )
    };
}

pub(super) use {insert_activities, insert_archive, upsert_status};
