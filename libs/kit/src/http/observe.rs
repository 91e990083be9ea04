//! The middleware every request passes through: it names the request (request id), opens
//! its server span (`gigcover_telemetry::start_server_span`: HTTP semantic conventions,
//! parent taken from the W3C `traceparent` header), runs it inside its service (see
//! `gigcover_telemetry::in_service`), records the RED metrics, makes sure every error
//! leaves as problem+json, whoever produced it, counts the requests in flight for a stop to
//! wait on, and closes each connection after its answer once the service drains.

use std::future::{Ready, ready};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::BoxBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::{HttpMessage, ResponseError};
use futures::future::LocalBoxFuture;
use opentelemetry::KeyValue;
use opentelemetry::trace::FutureExt as _;

use super::health::Readiness;
use super::in_flight::InFlight;
use super::metrics::HttpMetrics;
use crate::drill::{Drill, Effect};
use crate::error::ApiError;
use crate::signals::ServiceSignals;

/// A number in 0..100 for the drill's share (uniform enough for a drill).
fn rand_percent() -> u8 {
    let mut b = [0u8; 1];
    if getrandom::fill(&mut b).is_err() {
        return 0;
    }
    b[0] % 100
}

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request (echoed in the `x-request-id` response header).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

struct HeaderExtractor<'a>(&'a HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// A caller's request id is kept when it is short and plain; otherwise we make one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        429 => "too_many_requests",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "bad_request",
    }
}

#[derive(Clone)]
pub(crate) struct Observe {
    service: &'static str,
    metrics: HttpMetrics,
    signals: Arc<ServiceSignals>,
    drill: Arc<Drill>,
    in_flight: InFlight,
    readiness: Readiness,
}

impl Observe {
    pub(crate) fn new(
        service: &'static str,
        signals: Arc<ServiceSignals>,
        drill: Arc<Drill>,
        in_flight: InFlight,
        readiness: Readiness,
    ) -> Self {
        Self { service, metrics: HttpMetrics::new(service), signals, drill, in_flight, readiness }
    }
}

/// Health and the internal routes are never drilled (ops must reach a drilled service).
fn drillable(path: &str) -> bool {
    !(path.starts_with("/internal/") || path == "/livez" || path == "/readyz")
}

impl<S> Transform<S, ServiceRequest> for Observe
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error> + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Transform = ObserveMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(ObserveMiddleware { service: Rc::new(service), observe: self.clone() }))
    }
}

pub(crate) struct ObserveMiddleware<S> {
    service: Rc<S>,
    observe: Observe,
}

impl<S> Service<ServiceRequest> for ObserveMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error> + 'static,
{
    type Response = ServiceResponse<BoxBody>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let started = Instant::now();
        let service = Rc::clone(&self.service);
        let Observe { service: name, metrics, signals, drill, in_flight, readiness } = self.observe.clone();
        let request = in_flight.start();
        let id = request_id(req.headers());
        let route = req.match_pattern().unwrap_or_else(|| "default".to_owned());
        let method = req.method().to_string();
        let parent = if req.headers().contains_key("traceparent") {
            gigcover_telemetry::extract_context(&HeaderExtractor(req.headers()))
        } else {
            opentelemetry::Context::new()
        };
        let span = gigcover_telemetry::start_server_span(
            name,
            format!("{method} {route}"),
            vec![
                KeyValue::new("http.request.method", method.clone()),
                KeyValue::new("http.route", route.clone()),
                KeyValue::new("url.path", req.path().to_owned()),
                KeyValue::new("request.id", id.clone()),
            ],
            &parent,
        );
        req.extensions_mut().insert(RequestId(id.clone()));

        let effect = if drillable(req.path()) { drill.effect(rand_percent) } else { Effect::None };
        let ended = span.clone();
        let work = async move {
            // Handlers' errors arrive as responses; an `Err` here only comes from the
            // framework itself, which answers it with the error's own response.
            let mut res = match effect {
                Effect::Fail => req.into_response(
                    ApiError::unavailable("drill", "a failure drill is running on this service").error_response(),
                ),
                Effect::Delay(d) => {
                    tokio::time::sleep(d).await;
                    service.call(req).await?
                }
                Effect::None => service.call(req).await?,
            };
            let status = res.status();
            let is_problem = res
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/problem+json"));
            if status.as_u16() >= 400 && !is_problem {
                // actix's own 405 (a resource served with other methods) names them, as ours does.
                let named = (status == StatusCode::METHOD_NOT_ALLOWED)
                    .then(|| super::no_route::method_not_allowed(res.request()))
                    .flatten();
                let problem = named.unwrap_or_else(|| {
                    let detail = status.canonical_reason().unwrap_or("error").to_lowercase();
                    ApiError::new(status, code_for(status), detail).error_response()
                });
                res = res.into_response(problem);
            }
            if !readiness.is_ready() {
                // Draining: the client's next request opens a connection, which the
                // Service routes to another pod.
                res.response_mut().head_mut().set_connection_type(ConnectionType::Close);
            }
            if let Ok(v) = HeaderValue::from_str(&id) {
                res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
            }
            if let Some(cx) = &ended {
                gigcover_telemetry::end_server_span(cx, status.as_u16());
            }
            let secs = started.elapsed().as_secs_f64();
            metrics.record(&method, &route, status.as_u16(), secs);
            signals.record(&method, &route, status.as_u16(), secs);
            drop(request);
            Ok(res)
        };
        match span {
            Some(cx) => Box::pin(gigcover_telemetry::in_service(name, work.with_context(cx))),
            None => Box::pin(gigcover_telemetry::in_service(name, work)),
        }
    }
}
