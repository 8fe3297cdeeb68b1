//! The watcher's internal messages, and the translation of notify's events into them.

use std::path::PathBuf;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};

/// What happened to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The path appeared (created, or renamed to this name).
    Created,
    /// Its content or metadata changed.
    Modified,
    /// The path disappeared: renamed away, or gone from the poller's scan.
    Removed,
    /// inotify saw the path deleted. A directory can only be deleted once empty, so a watched directory's files
    /// were reported one by one before it: its own deletion adds nothing.
    Deleted,
}

/// One change of one path, as seen by the working-tree watcher (inotify or the poller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FsEvent {
    pub path: PathBuf,
    pub change: Change,
}

/// Everything the worker thread reacts to.
#[derive(Debug)]
pub(crate) enum Msg {
    /// Something that may move HEAD changed in the git dir.
    Git,
    /// The git-dir watcher hit the watch limit (or lost events): fall back to resolving HEAD on a timer.
    GitLimit,
    /// Paths changed in the working tree.
    Tree(Vec<FsEvent>),
    /// The working-tree watcher lost events (inotify queue overflow): resynchronize.
    TreeRescan,
    /// The working-tree watcher hit the watch limit.
    TreeLimit,
    /// `Watcher::set_save`.
    Save(bool),
    /// `Watcher::set_paused`.
    Paused(bool),
    /// The `Watcher` was dropped.
    Stop,
}

/// The kind of a notify event as a [`Change`], or `None` for events that change nothing
/// (opening or reading a file, and the `Both` half of a rename, which `From` and `To` already cover).
pub(crate) fn change_of(kind: &EventKind) -> Option<Change> {
    match kind {
        EventKind::Create(_) => Some(Change::Created),
        EventKind::Remove(_) => Some(Change::Deleted),
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => Some(Change::Removed),
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => Some(Change::Created),
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => None,
        EventKind::Modify(_) => Some(Change::Modified),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => Some(Change::Modified),
        EventKind::Access(_) => None,
        EventKind::Any | EventKind::Other => Some(Change::Modified),
    }
}

/// Translate one notify event; empty when it changes nothing.
pub(crate) fn fs_events(event: notify::Event) -> Vec<FsEvent> {
    match change_of(&event.kind) {
        Some(change) => event.paths.into_iter().map(|path| FsEvent { path, change }).collect(),
        None => Vec::new(),
    }
}

/// Whether a notify error means the kernel's watch limit was reached.
pub(crate) fn is_limit(error: &notify::Error) -> bool {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => io.raw_os_error() == Some(libc::ENOSPC),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange};

    #[test]
    fn reads_and_opens_are_not_changes() {
        assert_eq!(change_of(&EventKind::Access(AccessKind::Open(AccessMode::Any))), None);
        assert_eq!(change_of(&EventKind::Access(AccessKind::Close(AccessMode::Read))), None);
        let write = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(change_of(&write), Some(Change::Modified));
    }

    #[test]
    fn renames_are_a_removal_and_a_creation() {
        let from = EventKind::Modify(ModifyKind::Name(RenameMode::From));
        let to = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(change_of(&from), Some(Change::Removed));
        assert_eq!(change_of(&to), Some(Change::Created));
        assert_eq!(change_of(&EventKind::Modify(ModifyKind::Name(RenameMode::Both))), None);
        assert_eq!(change_of(&EventKind::Create(CreateKind::File)), Some(Change::Created));
        let data = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        assert_eq!(change_of(&data), Some(Change::Modified));
    }

    #[test]
    fn limit_errors_are_recognized() {
        assert!(is_limit(&notify::Error::new(notify::ErrorKind::MaxFilesWatch)));
        assert!(is_limit(&notify::Error::io(std::io::Error::from_raw_os_error(
            libc::ENOSPC
        ))));
        assert!(!is_limit(&notify::Error::path_not_found()));
    }
}
