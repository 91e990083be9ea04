//! Which gigcover worker each platform account is linked to, as last read, so a write of
//! new webhook records can name the workers of its `activity.changed` events before it
//! runs. Never the last word: that write checks every link it relies on, writes nothing
//! when one changed, and the links of its records are then read again.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::PgConnection;
use uuid::Uuid;

/// Links by platform, then by the platform's worker reference (`None`: not linked).
pub struct WorkerLinks {
    max: usize,
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    entries: usize,
    by_platform: HashMap<String, HashMap<String, Option<Uuid>>>,
}

impl WorkerLinks {
    /// Remembers at most `max` links; past that, starts again from none.
    pub fn new(max: usize) -> Self {
        Self { max, known: Mutex::new(Known::default()) }
    }

    /// The worker each of `refs` is linked to on `platform`, reading the ones not known.
    pub async fn resolve(
        &self,
        conn: &mut PgConnection,
        platform: &str,
        refs: &[&str],
    ) -> Result<Vec<Option<Uuid>>, sqlx::Error> {
        let mut answers: HashMap<&str, Option<Uuid>> = HashMap::with_capacity(refs.len());
        let mut missing = Vec::new();
        {
            let known = self.lock();
            let links = known.by_platform.get(platform);
            for &r in refs {
                match links.and_then(|l| l.get(r)) {
                    Some(&worker) => drop(answers.insert(r, worker)),
                    None => missing.push(r),
                }
            }
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            let read: Vec<(String, Option<Uuid>)> = sqlx::query_as(
                "SELECT r.worker_ref, pa.worker_id
                 FROM unnest($2::text[]) AS r(worker_ref)
                 LEFT JOIN platform_accounts pa ON pa.platform_id = $1 AND pa.worker_ref = r.worker_ref",
            )
            .bind(platform)
            .bind(&missing)
            .fetch_all(conn)
            .await?;
            let found: HashMap<&str, Option<Uuid>> = read.iter().map(|(k, w)| (k.as_str(), *w)).collect();
            for &r in &missing {
                answers.insert(r, found.get(r).copied().flatten());
            }
            let mut known = self.lock();
            if known.entries + read.len() > self.max {
                *known = Known::default();
            }
            known.entries += read.len();
            known.by_platform.entry(platform.to_owned()).or_default().extend(read);
        }
        Ok(refs.iter().map(|r| answers.get(r).copied().flatten()).collect())
    }

    /// Forgets the links of `refs` on `platform` (one of them changed).
    pub fn forget(&self, platform: &str, refs: &[&str]) {
        let mut known = self.lock();
        let Known { entries, by_platform } = &mut *known;
        if let Some(links) = by_platform.get_mut(platform) {
            for r in refs {
                *entries -= usize::from(links.remove(*r).is_some());
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
