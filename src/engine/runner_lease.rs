//! One runner of watch-triggered runs per app: two consoles (or a console and `shipdeck
//! watch`) on one repository would otherwise both run every commit. The first process that
//! wants to run a triggered run takes an exclusive lock on `.shipdeck/watch-runner.lock` and
//! keeps it until it exits (the kernel frees it then, also after `kill -9`); the others leave
//! triggered runs to it and show them from the history ([`super::event::Event::RunsElsewhere`]).
//! Manual runs are never refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

const FILE: &str = "watch-runner.lock";

/// The lock, held while this value lives.
#[derive(Debug)]
pub struct RunnerLease {
    _file: File,
}

/// Whether this process may run triggered runs.
#[derive(Debug)]
pub enum Lease {
    /// This process is the runner.
    Held(RunnerLease),
    /// Another process is: what it wrote of itself (`pid 1234, console`).
    Elsewhere(String),
}

fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE)
}

impl RunnerLease {
    /// Takes the lease unless another process holds it; `who` says what this process is, for
    /// the others to show.
    pub fn try_take(state_dir: &Path, who: &str) -> std::io::Result<Lease> {
        std::fs::create_dir_all(state_dir)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path(state_dir))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                file.rewind()?;
                writeln!(file, "pid {}, {who}", std::process::id())?;
                Ok(Lease::Held(RunnerLease { _file: file }))
            }
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = crate::term::plain_text(holder.trim()).into_owned();
                Ok(Lease::Elsewhere(if holder.is_empty() {
                    "another shipdeck".to_string()
                } else {
                    holder
                }))
            }
            Err(TryLockError::Error(e)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_when_it_goes() {
        let dir = tempfile::tempdir().unwrap();
        let Lease::Held(first) = RunnerLease::try_take(dir.path(), "console").unwrap() else {
            panic!("the first taker did not get the lease");
        };
        match RunnerLease::try_take(dir.path(), "watch").unwrap() {
            Lease::Elsewhere(who) => assert_eq!(who, format!("pid {}, console", std::process::id())),
            Lease::Held(_) => panic!("two holders at once"),
        }
        drop(first);
        assert!(matches!(
            RunnerLease::try_take(dir.path(), "watch").unwrap(),
            Lease::Held(_)
        ));
    }
}
