//! The system tests: the real shipdeck binary against the real Docker engine, real git
//! repositories in temp dirs, real tmux, real HTTP and SMTP receivers.
//!
//! One test binary, one module per subject, so that their tests run side by side: they spend
//! most of their time waiting on containers (health checks, drains, smoke retries), and as
//! separate binaries cargo ran them one binary after another, which took 25 minutes on two
//! cores. `.cargo/config.toml` sets how many run at once. Run one subject with
//! `cargo test --test system proxy::`.
//!
//! Tests of different modules now share a process: anything process-wide (the lock that
//! serialises tests which kill a shipdeck or count what a start reaps, `common::one_at_a_time`)
//! is shared by all of them, as it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod accessories;
mod buildkit;
mod cancel;
mod cli;
mod cli_json;
mod console_tmux;
mod doctor;
mod environments;
mod host_boundary;
mod init;
mod load;
mod notes_pg;
mod notify;
mod package_cache;
mod pipeline;
mod proxy;
mod queries;
mod reaper;
mod release_command;
mod release_crash;
mod release_safety;
mod retention;
mod scan;
mod secrets;
mod services;
mod stage_secrets;
mod watch;
