//! A webhook receiver for the tests: an HTTP server on a free port that keeps every
//! request it gets and answers 500 to the first `fail_first` of them, 200 after.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub event_id: String,
    pub traceparent: Option<String>,
    pub body: Vec<u8>,
    /// What it was answered.
    pub status: u16,
}

#[derive(Clone, Default)]
struct Shared {
    got: Arc<Mutex<Vec<Received>>>,
    fail_first: usize,
}

pub struct WebhookReceiver {
    shared: Shared,
    pub port: u16,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut got = shared.got.lock().expect("receiver lock");
    let status = if got.len() < shared.fail_first { 500 } else { 200 };
    got.push(Received {
        signature: header("gigcover-signature").unwrap_or_default(),
        event_id: header("gigcover-event-id").unwrap_or_default(),
        traceparent: header("traceparent"),
        body: body.to_vec(),
        status,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).expect("status")).finish()
}

impl WebhookReceiver {
    pub fn start(fail_first: usize) -> Self {
        let shared = Shared { got: Arc::default(), fail_first };
        let port = crate::free_port();
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || App::new().app_data(data.clone()).default_service(web::to(receive)))
            .workers(1)
            .bind(("127.0.0.1", port))
            .expect("bind the receiver")
            .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self { shared, port, handle }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/claims", self.port)
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.got.lock().expect("receiver lock").clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}
