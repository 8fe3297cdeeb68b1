//! Environments: deploying a release to an environment's Docker engine, smoke checks,
//! promotion, rollback, the per-environment lock and release retention. The engine's
//! operations (`engine::operations`) drive these; nothing here draws or prints.

pub mod model;

pub use model::{short_image_id, OpAction, OpOutcome, Operator, ReleaseRef, SmokeResult};
