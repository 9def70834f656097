//! The one integration test binary: real servers on real sockets over real databases.

mod envelopes;
mod harness;
mod proxy;
mod upstream_schema;

mod agent_messages;
mod bench_smoke;
mod chats;
mod cli;
mod connections;
mod contacts;
mod departments;
mod files;
mod foundation;
mod hardening;
mod helpcrunch_auth;
mod input_lengths;
mod lifecycle;
mod login_block;
mod metrics;
mod object_access;
mod openapi;
mod priorities;
mod queue_position;
mod rc_answers;
mod realtime;
mod room_work;
mod routing;
mod seeds;
mod settings;
mod sla_breaches;
mod transfers;
mod visitors;
mod widget;
mod widget_config;
