//! The one integration test binary: real servers on real sockets over real databases.

mod harness;
mod proxy;
mod upstream_schema;

mod bench_smoke;
mod departments;
mod foundation;
mod helpcrunch_auth;
mod lifecycle;
mod seeds;
