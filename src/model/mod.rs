//! The vocabulary of runs that the engine, the store and both views share: what state a run
//! or a stage is in. The store keeps these as text (`store/status_sql.rs`); the views choose
//! how they look.

mod status;

pub use status::{RunStatus, StageStatus, UnknownStatus};
