//! Environments: deploying a release to an environment's Docker engine, smoke checks,
//! promotion, rollback, the per-environment lock and release retention. The engine's
//! operations (`engine::operations`) drive these; nothing here draws or prints.

pub mod accessories;
pub mod checks;
pub mod journal;
pub mod load;
pub mod lock;
pub mod model;
pub mod network;
mod operator;
pub mod phrases;
pub mod prepare;
pub mod processes;
pub mod provenance;
pub mod proxy;
pub mod release_command;
pub mod retention;
pub mod rollout;
pub mod secrets;
pub mod smoke;
pub mod switch;
pub mod switch_step;
pub mod target;
pub mod verdict;

pub use model::{short_image_id, OpAction, OpOutcome, Operator, Refusal, ReleaseRef, SmokeResult};
pub use target::{Deployed, Target};
