//! The `dev.shipdeck.*` labels on everything shipdeck creates, so that it can be found, shown
//! and reaped after a crash.

use std::collections::HashMap;

pub const APP: &str = "dev.shipdeck.app";
pub const RUN: &str = "dev.shipdeck.run";
pub const STAGE: &str = "dev.shipdeck.stage";
pub const COMMIT: &str = "dev.shipdeck.commit";
pub const OWNER: &str = "dev.shipdeck.owner";
/// What the object is for: `stage`, `workspace`, `cache`, `release`.
pub const ROLE: &str = "dev.shipdeck.role";
pub const CACHE_PATH: &str = "dev.shipdeck.cache-path";
pub const BUILT_AT: &str = "dev.shipdeck.built-at";

pub fn set(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}
