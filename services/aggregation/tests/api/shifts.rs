//! Shifts: login and logout make a session (online time).

use serde_json::{Value, json};

use crate::harness::Harness;

#[tokio::test]
async fn a_login_and_logout_make_a_session_of_online_time() {
    let h = Harness::start().await;
    let p = h.platform("zego", "shifts", "Europe/London", "GBP").await;
    let worker = h.link_new_worker("zego", "z-1").await;
    let ev = |id: &str, kind: &str, at: &str| json!({"event_id": id, "type": kind, "worker_id": "z-1", "shift_id": "s-1", "timestamp": at});
    let batch = json!({"events": [ev("a", "shift.login", "2026-11-05T17:00:00Z"), ev("b", "shift.logout", "2026-11-05T23:30:00Z")]});
    let res: Value = h.webhook(&p, &batch).await.json().await.unwrap();
    assert_eq!(res, json!({"received": 2}));
    let outcomes = h.status("zego").await["outcomes"].clone();
    assert_eq!((outcomes["pending"].clone(), outcomes["inserted"].clone()), (json!(1), json!(1)), "{outcomes}");
    let acts = h.activities(&worker).await;
    assert_eq!(acts.len(), 1);
    assert_eq!(acts[0]["kind"], "session");
    assert_eq!(acts[0]["external_id"], "s-1");
    assert_eq!(h.changes().await[0]["days"], json!(["2026-11-05"]));
}
