//! The server as a tower [`Service`] and [`Layer`], to mount it in axum or any tower/hyper
//! stack: requests under the server's path are served, every other request goes to the
//! inner service.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{Either, Full};
use hyper::body::Body;
use tower_layer::Layer;
use tower_service::Service;

use crate::engine::http::{handle, matches_path};
use crate::engine::{EngineShared, remote_addr};
use crate::io::SocketIo;

/// A tower [`Layer`] that puts the Socket.IO server in front of a service.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use socketio_server::{Config, SocketIo};
///
/// # async fn run() -> std::io::Result<()> {
/// let io = SocketIo::new(Config::default());
/// io.of("/").on_connection(|socket| async move {
///     let _ = socket.emit("hello", &"world");
/// });
/// let app = Router::new()
///     .route("/", get(|| async { "hello" }))
///     .layer(io.layer());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SocketIoLayer {
    io: SocketIo,
}

impl<S> Layer<S> for SocketIoLayer {
    type Service = SocketIoService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SocketIoService {
            shared: self.io.engine.clone(),
            inner,
        }
    }
}

/// The Socket.IO server as a tower [`Service`]: requests under its path (`/socket.io/` by
/// default) are Engine.IO / Socket.IO requests, the others go to `S`.
#[derive(Clone)]
pub struct SocketIoService<S = NotFound> {
    shared: Arc<EngineShared>,
    inner: S,
}

impl<S> std::fmt::Debug for SocketIoService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketIoService")
            .field("path", &self.shared.config.path)
            .finish_non_exhaustive()
    }
}

/// The inner service of a standalone [`SocketIoService`]: 404 for every request.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _req: Request<B>) -> Self::Future {
        std::future::ready(Ok(crate::engine::not_found()))
    }
}

impl<S, B, ResBody> Service<Request<B>> for SocketIoService<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
{
    type Response = Response<Either<Full<Bytes>, ResBody>>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if matches_path(&self.shared, req.uri().path()) {
            let shared = self.shared.clone();
            let remote = remote_addr(req.extensions());
            Box::pin(async move { Ok(handle(shared, req, remote).await.map(Either::Left)) })
        } else {
            let future = self.inner.call(req);
            Box::pin(async move { Ok(future.await?.map(Either::Right)) })
        }
    }
}

impl SocketIo {
    /// A tower [`Layer`] serving Socket.IO requests in front of any service (axum's
    /// `Router::layer`).
    pub fn layer(&self) -> SocketIoLayer {
        SocketIoLayer { io: self.clone() }
    }

    /// A tower [`Service`] serving Socket.IO requests, and 404 for any other path.
    pub fn service(&self) -> SocketIoService<NotFound> {
        SocketIoService {
            shared: self.engine.clone(),
            inner: NotFound,
        }
    }
}
