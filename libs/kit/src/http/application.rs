//! A running service: its HTTP server (bound to a `TcpListener`, port 0 in tests) and its
//! background tasks, started together and stopped together (draining in-flight requests).

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer, web};
use futures::future::BoxFuture;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use utoipa_scalar::Servable as _;

use super::extract::BodyLimit;
use super::health::{self, Readiness};
use super::in_flight::InFlight;
use super::no_route::{self, AllowedMethods};
use super::observe::Observe;
use super::openapi::ApiDocs;
use crate::auth::Verifier;
use crate::client::{ServiceClient, TokenSource};
use crate::config::{Config, Settings};
use crate::topology::ServiceName;

/// What a service is built from.
#[derive(Clone)]
pub struct ServiceContext {
    pub name: ServiceName,
    pub settings: Settings,
    /// The whole configuration, for the service's own section.
    pub config: Config,
    /// A pool confined to the service's schema, migrations applied.
    pub pool: PgPool,
    pub verifier: Arc<Verifier>,
    /// The token this service presents when it calls another.
    pub tokens: Arc<dyn TokenSource>,
    /// Cancelled when the service stops; background tasks end when it is.
    pub shutdown: CancellationToken,
}

impl ServiceContext {
    /// A client for calling `other` at its configured URL, with this service's token.
    pub fn client_for(&self, other: ServiceName) -> ServiceClient {
        ServiceClient::new(other.as_str(), self.settings.services.url(other), Arc::clone(&self.tokens))
    }
}

/// What a service adds to the kit's server.
pub struct ServiceRoutes {
    /// The service's OpenAPI document (its paths and schemas).
    pub openapi: utoipa::openapi::OpenApi,
    /// Registers routes and app data, once per worker.
    pub configure: Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>,
    /// Tasks that run while the service runs (feed consumers, schedulers); each must end
    /// soon after `ServiceContext::shutdown` is cancelled.
    pub background: Vec<BoxFuture<'static, ()>>,
}

/// Stops a running service: not ready, background told to stop, in-flight requests drained.
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    shutdown: CancellationToken,
    readiness: Readiness,
    in_flight: InFlight,
    drain_timeout: Duration,
}

/// How the shutdown timeout is shared: most of it for every request in flight to finish,
/// the rest for the workers to finish what started on a kept-alive connection after that
/// (the request counter cannot see a request still on its way), so a stop ends within
/// the timeout in all.
struct DrainBudget {
    until_idle: Duration,
    after_idle: Duration,
}

impl DrainBudget {
    fn of(shutdown_timeout_secs: u64) -> Self {
        let after_idle = (shutdown_timeout_secs / 6).max(1).min(shutdown_timeout_secs);
        Self {
            until_idle: Duration::from_secs(shutdown_timeout_secs - after_idle),
            after_idle: Duration::from_secs(after_idle),
        }
    }
}

impl StopHandle {
    /// New connections wait (unaccepted) while every request already in flight, on any
    /// worker, finishes; only then do the workers stop (see [`InFlight`] for why). Behind
    /// the cluster's Service no new connection comes by then (the pod left the Service
    /// before its preStop sleep ended); one that does is reset when the listener closes.
    pub async fn stop(&self) {
        self.readiness.set_draining();
        self.shutdown.cancel();
        self.server.pause().await;
        let drained = tokio::time::timeout(self.drain_timeout, self.in_flight.idle()).await.is_ok();
        if !drained {
            tracing::warn!(requests = self.in_flight.count(), "stopping with requests still in flight");
        }
        self.server.stop(drained).await;
    }
}

pub struct Application {
    name: ServiceName,
    port: u16,
    server: Server,
    stop: StopHandle,
    background: Vec<BoxFuture<'static, ()>>,
}

impl Application {
    /// Binds `host:port` (0 = any free port) and prepares the server; nothing runs until
    /// [`Application::run_until_stopped`].
    pub fn build(ctx: &ServiceContext, routes: ServiceRoutes, port: u16) -> std::io::Result<Self> {
        let listener = TcpListener::bind((ctx.settings.http.host.as_str(), port))?;
        let port = listener.local_addr()?.port();
        let name = ctx.name.as_str();
        let openapi = web::Data::new(ApiDocs::for_service(name, routes.openapi));
        let allowed = web::Data::new(AllowedMethods::of(&openapi));
        let readiness = Readiness::default();
        let pool = web::Data::new(ctx.pool.clone());
        let verifier = web::Data::from(Arc::clone(&ctx.verifier));
        let consent = web::Data::new(crate::auth::ConsentClient(ctx.client_for(ServiceName::Identity)));
        let ready = web::Data::new(readiness.clone());
        let limit = BodyLimit(ctx.settings.http.json_limit_bytes);
        let configure = routes.configure;
        let signals = crate::signals::of(name);
        let drill = Arc::new(crate::drill::Drill::default());
        let in_flight = InFlight::default();
        let observe =
            Observe::new(name, Arc::clone(&signals), Arc::clone(&drill), in_flight.clone(), readiness.clone());
        let signals = web::Data::new(signals);
        let drill = web::Data::new(drill);
        let drills_allowed = web::Data::new(super::internal::DrillsAllowed(!ctx.settings.environment.is_production()));

        let drain = DrainBudget::of(ctx.settings.http.shutdown_timeout_secs);
        let mut server = HttpServer::new(move || {
            let docs = openapi.get_ref().clone();
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::auth::authenticate))
                .wrap(observe.clone())
                .app_data(limit)
                .app_data(pool.clone())
                .app_data(verifier.clone())
                .app_data(consent.clone())
                .app_data(ready.clone())
                .app_data(web::PayloadConfig::new(limit.0))
                .app_data(signals.clone())
                .app_data(drill.clone())
                .app_data(drills_allowed.clone())
                .app_data(allowed.clone())
                .route("/internal/signals", web::get().to(super::internal::signals))
                .route("/internal/drill", web::put().to(super::internal::drill))
                .route("/livez", web::get().to(health::livez))
                .route("/readyz", web::get().to(health::readyz))
                .route("/openapi.json", web::get().to(move || std::future::ready(web::Json(docs.clone()))))
                .service(utoipa_scalar::Scalar::with_url("/docs", openapi.get_ref().clone()))
                .configure(|cfg| configure(cfg))
                .default_service(web::to(no_route::answer))
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(drain.after_idle.as_secs())
        .client_request_timeout(Duration::from_secs(10));
        if let Some(workers) = ctx.settings.http.workers {
            server = server.workers(workers);
        }
        let server = server.run();
        let stop = StopHandle {
            server: server.handle(),
            shutdown: ctx.shutdown.clone(),
            readiness,
            in_flight,
            drain_timeout: drain.until_idle,
        };
        Ok(Self { name: ctx.name, port, server, stop, background: routes.background })
    }

    pub fn name(&self) -> ServiceName {
        self.name
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Serves until stopped through a [`StopHandle`]; background tasks run alongside and
    /// are awaited before this returns.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let service = self.name.as_str();
        let tasks: Vec<_> = self
            .background
            .into_iter()
            .map(|task| tokio::spawn(gigcover_telemetry::in_service(service, task)))
            .collect();
        let served = self.server.await;
        for task in tasks {
            let _ = task.await;
        }
        tracing::info!(service, "stopped");
        served
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drain_and_what_follows_it_fit_in_the_shutdown_timeout() {
        for (timeout, until_idle, after_idle) in [(30, 25, 5), (6, 5, 1), (3, 2, 1), (1, 0, 1), (0, 0, 0)] {
            let budget = DrainBudget::of(timeout);
            assert_eq!(budget.until_idle, Duration::from_secs(until_idle), "{timeout} s");
            assert_eq!(budget.after_idle, Duration::from_secs(after_idle), "{timeout} s");
        }
    }
}
