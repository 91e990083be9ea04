//! SIGTERM under a steady load: every request already in flight completes with its full
//! answer, answers sent while draining close their connection, afterwards new connections
//! are refused, and the process exits cleanly.

use std::time::Duration;

use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use tokio::sync::watch;
use tokio::time::Instant;

/// A request counts as in flight at SIGTERM when it was sent at least this long before:
/// by then the server has surely accepted its connection (a connection still in the
/// kernel's accept queue when the listener closes is reset, which is not a lost request).
const SURELY_ACCEPTED: Duration = Duration::from_millis(200);

#[derive(Debug)]
struct Sample {
    sent: Instant,
    done: Instant,
    result: Result<(), String>,
    /// The answer said `Connection: close`.
    closed: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_completes_every_in_flight_request() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    let mut gc = Gigcover::serve("aggregation", &[]);
    gc.wait_for_readyz(&[ServiceName::Aggregation], 200, Duration::from_secs(90)).await;
    let (stop_tx, stop_rx) = watch::channel(false);
    // A fresh connection per request, so no request races a keep-alive connection's close.
    let http = gigcover_kit::client::http_builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();

    let mut workers = Vec::new();
    for worker in 0..16 {
        // Half the workers long-poll the feed (each request in flight for up to 2 s),
        // half make quick reads.
        let (path, token) = if worker % 2 == 0 {
            ("/v1/events?after=0&wait=2", gc.keys.service_token("load"))
        } else {
            ("/v1/platforms", gc.keys.ops_token())
        };
        let url = gc.url(ServiceName::Aggregation, path);
        let http = http.clone();
        let stop = stop_rx.clone();
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while !*stop.borrow() {
                let sent = Instant::now();
                let mut closed = false;
                let result = match http.get(&url).bearer_auth(&token).send().await {
                    Ok(res) if res.status() == 200 => {
                        closed = res
                            .headers()
                            .get("connection")
                            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                        res.bytes().await.map(|_| ()).map_err(|e| format!("body cut: {e}"))
                    }
                    Ok(res) => Err(format!("status {}", res.status())),
                    Err(e) => Err(format!("{e}")),
                };
                let failed = result.is_err();
                samples.push(Sample { sent, done: Instant::now(), result, closed });
                if failed {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            samples
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sigterm_at = Instant::now();
    gc.signal(nix::sys::signal::Signal::SIGTERM);
    let status = gc.wait_exit(Duration::from_secs(60)).await;
    stop_tx.send(true).unwrap();

    let samples: Vec<Sample> = futures::future::join_all(workers).await.into_iter().flat_map(Result::unwrap).collect();
    let in_flight: Vec<_> = samples.iter().filter(|s| s.sent + SURELY_ACCEPTED <= sigterm_at).collect();
    let lost: Vec<_> = in_flight.iter().filter(|s| s.result.is_err()).collect();
    let drained = in_flight.iter().filter(|s| s.result.is_ok() && s.done > sigterm_at).count();
    let before: Vec<_> = samples.iter().filter(|s| s.done < sigterm_at).collect();
    assert!(status.success(), "clean exit:\n{}", gc.logs());
    assert!(in_flight.len() > 20, "the load was steady: {} requests before the signal", in_flight.len());
    assert!(lost.is_empty(), "requests in flight at SIGTERM failed: {lost:?}\n{}", gc.logs());
    assert!(drained > 0, "some requests were in flight when the signal came and completed after it");
    assert!(before.iter().all(|s| !s.closed), "answers before the signal keep their connection open");
    assert!(
        in_flight.iter().any(|s| s.result.is_ok() && s.done > sigterm_at && s.closed),
        "answers while draining close their connection"
    );
}
