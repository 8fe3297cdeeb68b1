//! The `dev.shipdeck.*` labels on everything shipdeck creates, so that it can be found, shown
//! and reaped after a crash.

use std::collections::HashMap;

pub const APP: &str = "dev.shipdeck.app";
pub const RUN: &str = "dev.shipdeck.run";
pub const STAGE: &str = "dev.shipdeck.stage";
pub const COMMIT: &str = "dev.shipdeck.commit";
pub const OWNER: &str = "dev.shipdeck.owner";
/// What the object is for: `stage`, `workspace`, `cache`, `release`, `deployment`, `lock`,
/// `service` (a stage's service container), `network` (the network a stage meets them on).
pub const ROLE: &str = "dev.shipdeck.role";
/// On a stage's service container (role `service`): the service's name.
pub const SERVICE: &str = "dev.shipdeck.service";
pub const CACHE_PATH: &str = "dev.shipdeck.cache-path";
pub const BUILT_AT: &str = "dev.shipdeck.built-at";
/// On an environment's containers (role `deployment`): which environment, which release, who
/// put it there and when, so that what runs can be read back from the engine alone.
pub const ENV: &str = "dev.shipdeck.env";
pub const SHORT_COMMIT: &str = "dev.shipdeck.short-commit";
pub const SUBJECT: &str = "dev.shipdeck.subject";
pub const IMAGE_ID: &str = "dev.shipdeck.image-id";
pub const IMAGE_TAG: &str = "dev.shipdeck.image-tag";
pub const DEPLOYED_BY: &str = "dev.shipdeck.deployed-by";
pub const DEPLOYED_AT: &str = "dev.shipdeck.deployed-at";
/// How it got there: `deploy`, `promote`, `rollback`, `auto_rollback`.
pub const ACTION: &str = "dev.shipdeck.action";
/// On an accessory's container and volumes: its key in `[environments.X.accessories]`.
pub const ACCESSORY: &str = "dev.shipdeck.accessory";
/// On a release's process container: its key in `[environments.X.processes]`; and the
/// release (web) container it belongs to.
pub const PROCESS: &str = "dev.shipdeck.process";
pub const PROCESS_OF: &str = "dev.shipdeck.process-of";
/// On an environment's lock volume: who holds it, since when, doing what, and the holding
/// process (`host/pid/start/boot/pidns`, see `owner`). Not `OWNER`: the reaper must never break a lock.
pub const LOCK_HOLDER: &str = "dev.shipdeck.lock-holder";
pub const LOCK_PROCESS: &str = "dev.shipdeck.lock-process";
pub const LOCK_SINCE: &str = "dev.shipdeck.lock-since";
pub const LOCK_DOING: &str = "dev.shipdeck.lock-doing";
pub const LOCK_TOKEN: &str = "dev.shipdeck.lock-token";

pub fn set(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
