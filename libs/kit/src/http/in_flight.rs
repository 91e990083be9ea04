//! How many requests a service is answering right now, so a stop can wait for the last one
//! before the server's workers go away.
//!
//! Each actix worker runs its own Tokio runtime, and a pooled Postgres connection belongs to
//! the runtime that opened it. A worker with nothing left to do stops at once, and its
//! runtime takes its connections with it, also those another worker is still using. So a
//! stop first waits here for every request of every worker, and only then stops the workers.
//! A request counts from when it reaches the middleware: one still arriving on a kept-alive
//! connection when the count reaches zero is not waited for, and may find its connection
//! gone (it answers 503). One pool per worker would close that gap.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;

#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Counter>);

#[derive(Debug, Default)]
struct Counter {
    requests: AtomicUsize,
    idle: Notify,
}

/// One request being answered; dropping it ends the request.
#[must_use]
pub struct InFlightRequest(Arc<Counter>);

impl InFlight {
    pub fn start(&self) -> InFlightRequest {
        self.0.requests.fetch_add(1, Ordering::SeqCst);
        InFlightRequest(Arc::clone(&self.0))
    }

    pub fn count(&self) -> usize {
        self.0.requests.load(Ordering::SeqCst)
    }

    /// Resolves once no request is in flight.
    pub async fn idle(&self) {
        loop {
            let idle = self.0.idle.notified();
            if self.count() == 0 {
                return;
            }
            idle.await;
        }
    }
}

impl Drop for InFlightRequest {
    fn drop(&mut self) {
        if self.0.requests.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn idle_waits_for_the_last_request_and_no_longer() {
        let in_flight = InFlight::default();
        tokio::time::timeout(Duration::from_secs(1), in_flight.idle()).await.expect("idle with no request");

        let first = in_flight.start();
        let second = in_flight.start();
        assert_eq!(in_flight.count(), 2);
        let waiting = tokio::spawn({
            let in_flight = in_flight.clone();
            async move { in_flight.idle().await }
        });
        drop(first);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "one request is still in flight");
        drop(second);
        tokio::time::timeout(Duration::from_secs(1), waiting).await.expect("idle after the last request").unwrap();
        assert_eq!(in_flight.count(), 0);
    }
}
