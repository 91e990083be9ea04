//! Every service's API under schemathesis: requests generated from the service's own
//! OpenAPI document (the examples, then fuzzed values: empty, huge, malformed, control
//! characters), sent as ops and as a worker (on their own data) to the whole system as it runs. No answer may be a
//! server error, and every answer's status, content type and body must be the ones the
//! document gives. Requests valid by the schema and still refused are not failures here: a
//! limit the schema does not say (a NUL the database cannot store, an integer written as
//! `4.0`) refuses them, with a 4xx naming it. Skipped, saying so, where schemathesis is missing (`pip install schemathesis`).

use std::process::Command;
use std::time::Duration;

use gigcover_e2e::Gigcover;
use gigcover_kit::ServiceName;
use gigcover_kit::auth::Role;

/// Not fuzzed: failure drills answer 503s by design (and ops's would start them on the
/// other services); the feed is a long poll; batches and attachments take bodies that are
/// not JSON, which schemathesis cannot make (their own tests send malformed ones).
const NOT_FUZZED: &[&str] =
    &["/internal/drill", "/v1/drills", "/v1/events", "/v1/platforms/{id}/batches", "/v1/claims/{id}/attachments"];

/// The checks run on every answer; `unsupported_method` also sends each path a method it
/// is not served with, which must be a 405 naming the methods it takes (`Allow`).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,unsupported_method";

#[tokio::test(flavor = "multi_thread")]
async fn every_service_answers_generated_requests_as_its_openapi_document_says() {
    if gigcover_e2e::skip_without_postgres() {
        return;
    }
    if Command::new("schemathesis").arg("--version").output().is_err() {
        eprintln!("skipped: schemathesis is not installed (pip install schemathesis)");
        return;
    }
    let mut gc = Gigcover::serve("all", &[]);
    gc.wait_for_readyz(&ServiceName::ALL, 200, Duration::from_secs(120)).await;
    // As ops, and as a worker on their own data (every `{id}` in a path is theirs).
    let worker = uuid::Uuid::now_v7().to_string();
    let as_worker = tempfile::tempdir().unwrap();
    std::fs::write(as_worker.path().join("schemathesis.toml"), format!("[parameters]\n\"path.id\" = \"{worker}\"\n"))
        .unwrap();
    let as_ops = tempfile::tempdir().unwrap();
    let callers = [
        ("ops", gc.keys.ops_token(), as_ops.path()),
        ("a worker", gc.keys.token(Role::Worker, &worker, None), as_worker.path()),
    ];
    for (who, token, workdir) in callers {
        for service in ServiceName::ALL {
            let out = Command::new("schemathesis")
                .current_dir(workdir)
                .args(["run", &gc.url(service, "/openapi.json")])
                .args(["--header", &format!("Authorization: Bearer {token}")])
                .args(NOT_FUZZED.iter().flat_map(|path| ["--exclude-path", path]))
                .args(["--checks", CHECKS, "--phases", "examples,coverage,fuzzing", "--max-examples", "25"])
                .args(["--seed", "20261206", "--generation-database", "none", "--workers", "1", "--no-color"])
                // A form whose fields few generated strings fit (the token endpoint) is tried as far as it goes.
                .args(["--suppress-health-check", "filter_too_much"])
                .output()
                .expect("run schemathesis");
            let report = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{service} as {who}: schemathesis found failures\n{report}\n{}", gc.logs());
            assert!(report.contains(" passed"), "{service} as {who}: nothing was tested\n{report}");
        }
    }
}
