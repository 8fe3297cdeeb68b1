//! The families of [`Event`]: one classification, so that every view folds or prints the
//! same events together (`ui/fold.rs`, `ui/envs/fold.rs`, `headless.rs`) and a new event is
//! placed in one match here, which the compiler checks for every variant.

use super::event::Event;

/// What an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventGroup {
    /// A run is queued, starts, ends or is refused; past runs are loaded.
    Run,
    /// A stage of a run starts, logs, ends; its image is pulled or built; its log is loaded.
    Stage,
    /// The engine, the repository, the watcher and the config say where they are; notices.
    Status,
    /// An operation on an environment starts, logs, smoke-checks or ends.
    Operation,
    /// What runs on an environment, and the answers that open the console's modals.
    Environment,
}

impl Event {
    /// The family this event belongs to.
    pub fn group(&self) -> EventGroup {
        match self {
            Event::RunQueued { .. }
            | Event::RunStarted { .. }
            | Event::RunFinished { .. }
            | Event::RunRejected { .. }
            | Event::HistoryLoaded { .. }
            | Event::RunsElsewhere { .. }
            | Event::CommitPlanned { .. } => EventGroup::Run,
            Event::ImagePull { .. }
            | Event::StageStarted { .. }
            | Event::StageLog { .. }
            | Event::StageFinished { .. }
            | Event::ServiceStatus { .. }
            | Event::ArtifactsCopied { .. }
            | Event::ScanFinished { .. }
            | Event::ImageBuilt { .. }
            | Event::StageLogLoaded { .. } => EventGroup::Stage,
            Event::Notice { .. }
            | Event::Notification { .. }
            | Event::EngineStatus { .. }
            | Event::RepoState { .. }
            | Event::WatchStatus { .. }
            | Event::ConfigReloaded { .. } => EventGroup::Status,
            Event::OperationStarted { .. }
            | Event::OperationLog { .. }
            | Event::SwitchProgress { .. }
            | Event::SmokeChecked { .. }
            | Event::LoadTested { .. }
            | Event::OperationFinished { .. } => EventGroup::Operation,
            Event::EnvironmentStatus { .. }
            | Event::EnvironmentParts { .. }
            | Event::ReleasesListed { .. }
            | Event::PromotionPreview { .. } => EventGroup::Environment,
        }
    }
}
