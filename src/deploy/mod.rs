//! Environments: deploying a release to an environment's Docker engine, smoke checks,
//! promotion, rollback, the per-environment lock and release retention. The engine's
//! operations (`engine::operations`) drive these; nothing here draws or prints.

pub mod checks;
pub mod journal;
pub mod lock;
pub mod model;
mod operator;
pub mod phrases;
pub mod provenance;
pub mod retention;
pub mod rollout;
pub mod smoke;
pub mod target;
pub mod verdict;

pub use model::{short_image_id, OpAction, OpOutcome, Operator, Refusal, ReleaseRef, SmokeResult};
pub use target::{Deployed, Target};
