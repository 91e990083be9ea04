//! The activities insert, shared by the engine's statements (a conflict clause or a
//! `RETURNING` may follow).

/// Inserts the activities of an `ActivityColumns` (bound as $2..$14, the platform as $1),
/// attributed to the linked worker where the account is linked. The worker is looked up by
/// the accounts' primary key once per distinct account of the write (a worker has many
/// activities: 6,000 rows of 1,000 workers took 41 ms with a lookup per row, 36 ms so,
/// 33 ms with none), then joined to the rows. A join to the accounts themselves let the
/// planner hash every account of the platform on each write (with stale statistics, even
/// for a webhook's handful of rows), a cost that grows with the platform, not the write.
macro_rules! insert_activities {
    () => {
        concat!(
            "INSERT INTO activities (platform_id, external_id, worker_ref, worker_id, kind, status, starts_at, ends_at,
                                     distance_km, currency, pay, tips, bonus, fees, content_hash)
             SELECT $1, u.external_id, u.worker_ref, linked.worker_id, u.kind, u.status, u.starts_at, u.ends_at,
                    u.distance_km, u.currency, u.pay, u.tips, u.bonus, u.fees, u.content_hash
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                         $8::numeric[], $9::text[], $10::numeric[], $11::numeric[], $12::numeric[], $13::numeric[], $14::bytea[])
                  AS u(external_id, worker_ref, kind, status, starts_at, ends_at, distance_km, currency, pay, tips, bonus, fees, content_hash)
             LEFT JOIN (SELECT r.worker_ref,
                               (SELECT pa.worker_id FROM platform_accounts pa
                                WHERE pa.platform_id = $1 AND pa.worker_ref = r.worker_ref) AS worker_id
                        FROM (SELECT DISTINCT worker_ref FROM unnest($3::text[]) AS worker_ref) r) linked
                    ON linked.worker_ref = u.worker_ref
             ORDER BY u.external_id"
        )
    };
}

pub(super) use insert_activities;
