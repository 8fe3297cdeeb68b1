//! shipdeck: a terminal release console for backend applications.
//!
//! The engine is a library: it takes [`engine::Command`]s and emits [`engine::Event`]s, and has
//! no UI code. Views (the console in [`ui`], the headless printer in [`headless`]) fold its
//! events. ARCHITECTURE.md in the repository root describes who owns what and how to extend it.

pub mod cli;
pub mod config;
pub mod deploy;
pub mod docker;
pub mod doctor;
pub mod engine;
pub mod exit;
pub mod headless;
pub mod init;
pub mod mask;
pub mod model;
pub mod notifications;
pub mod owner;
pub mod scan;
pub mod source;
pub mod store;
pub mod term;
pub mod text;
pub mod ui;
pub mod watch;
