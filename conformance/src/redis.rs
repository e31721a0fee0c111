//! Finding the Redis server the cluster tests run against: `REDIS_URL`
//! (`redis://host:port`, default `redis://127.0.0.1:6379`; `scripts/test` starts a private
//! `redis-server` and sets it when nothing answers there).

use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The Redis URL of the tests.
pub fn url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// `host:port` of [`url`].
pub fn addr() -> String {
    let url = url();
    let rest = url.split("://").nth(1).unwrap_or(&url).to_owned();
    let hostport = rest.rsplit('@').next().unwrap_or(&rest);
    hostport.split('/').next().unwrap_or(hostport).to_owned()
}

/// True when Redis accepts a connection at [`addr`]. Otherwise the test `what` is skipped
/// with a message — or fails when the `CI` environment variable is set, so that CI never
/// passes by skipping.
pub fn ready(what: &str) -> bool {
    let addr = addr();
    let reachable = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if !reachable {
        assert!(
            std::env::var_os("CI").is_none(),
            "Redis is not reachable at {addr}: the {what} needs it (set REDIS_URL)"
        );
        eprintln!("SKIPPED {what}: Redis is not reachable at {addr} (set REDIS_URL)");
    }
    reachable
}
