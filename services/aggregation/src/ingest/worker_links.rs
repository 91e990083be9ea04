//! Which gigcover worker each platform account is linked to, as last read, so a write of
//! new webhook records can name the workers of its `activity.changed` events before it
//! runs. Never the last word: that write checks every link it relies on, writes nothing
//! when one changed, and the links of its records are then read again.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::PgConnection;
use uuid::Uuid;

/// Links by platform, then by the platform's worker reference (`None`: not linked).
type Known = HashMap<String, HashMap<String, Option<Uuid>>>;

/// The links the writers have read, shared by them.
pub struct WorkerLinks {
    max: usize,
    known: Mutex<Known>,
}

impl WorkerLinks {
    /// Remembers at most `max` links; past that, starts again from none.
    pub fn new(max: usize) -> Self {
        Self { max, known: Mutex::new(Known::new()) }
    }

    /// The worker each of `refs` is linked to on `platform`, reading the ones not known.
    pub async fn resolve(
        &self,
        conn: &mut PgConnection,
        platform: &str,
        refs: &[&str],
    ) -> Result<Vec<Option<Uuid>>, sqlx::Error> {
        // `None` while not known; `Some(None)` for an account known to be unlinked.
        let mut links: Vec<Option<Option<Uuid>>> = {
            let known = self.lock();
            let of_platform = known.get(platform);
            refs.iter().map(|r| of_platform.and_then(|l| l.get(*r)).copied()).collect()
        };
        let mut missing: Vec<&str> = refs.iter().zip(&links).filter(|(_, l)| l.is_none()).map(|(r, _)| *r).collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            // One row for each missing reference, registered or not.
            let read: Vec<(String, Option<Uuid>)> = sqlx::query_as(
                "SELECT r.worker_ref, pa.worker_id
                 FROM unnest($2::text[]) AS r(worker_ref)
                 LEFT JOIN platform_accounts pa ON pa.platform_id = $1 AND pa.worker_ref = r.worker_ref",
            )
            .bind(platform)
            .bind(&missing)
            .fetch_all(conn)
            .await?;
            let found: HashMap<&str, Option<Uuid>> = read.iter().map(|(r, w)| (r.as_str(), *w)).collect();
            for (r, link) in refs.iter().zip(&mut links) {
                if link.is_none() {
                    *link = found.get(r).copied();
                }
            }
            let mut known = self.lock();
            if known.values().map(HashMap::len).sum::<usize>() + read.len() > self.max {
                known.clear();
            }
            known.entry(platform.to_owned()).or_default().extend(read);
        }
        Ok(links.into_iter().map(Option::flatten).collect())
    }

    /// Forgets the links of `refs` on `platform` (one of them changed).
    pub fn forget(&self, platform: &str, refs: &[&str]) {
        if let Some(links) = self.lock().get_mut(platform) {
            for r in refs {
                links.remove(*r);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
