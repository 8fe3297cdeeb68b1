//! Who owns what shipdeck creates: one running shipdeck process on one host.
//!
//! The owner is written into the `dev.shipdeck.owner` label of every container and volume of a
//! run, as `host/pid/start`, so that a later shipdeck can tell whether that process is still
//! alive (and not a new process that reused the pid) and reap what a crash left behind.

use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// The process's start time in clock ticks since boot (Linux), or 0 where unknown.
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn current() -> &'static Owner {
        static CURRENT: OnceLock<Owner> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                host: hostname(),
                pid,
                start: process_start(pid).unwrap_or(0),
            }
        })
    }

    pub fn parse(label: &str) -> Option<Owner> {
        let mut parts = label.rsplitn(3, '/');
        let start = parts.next()?.parse().ok()?;
        let pid = parts.next()?.parse().ok()?;
        let host = parts.next()?.to_string();
        Some(Owner { host, pid, start })
    }

    pub fn label(&self) -> String {
        format!("{}/{}/{}", self.host, self.pid, self.start)
    }

    /// Whether this owner is a live process. Owners on other hosts are assumed alive: this
    /// host cannot see their processes, and reaping another machine's run would break it.
    pub fn is_alive(&self) -> bool {
        if self.host != Owner::current().host {
            return true;
        }
        match process_start(self.pid) {
            Some(start) => self.start == 0 || start == self.start,
            None => false,
        }
    }
}

/// Whether the owner written in a label is alive; an unreadable label counts as alive, so
/// that nothing is reaped on a guess.
pub fn label_is_alive(label: &str) -> bool {
    Owner::parse(label).map(|o| o.is_alive()).unwrap_or(true)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// Field 22 of /proc/PID/stat, the start time; `None` when there is no such process.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: skip past its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_round_trips() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.label()).as_ref(), Some(me));
        assert!(me.is_alive());
    }

    #[test]
    fn a_dead_pid_on_this_host_is_not_alive() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let ghost = Owner {
            host: Owner::current().host.clone(),
            pid,
            start: 1,
        };
        assert!(!ghost.is_alive());
        assert!(!label_is_alive(&ghost.label()));
    }

    #[test]
    fn other_hosts_and_garbage_count_as_alive() {
        assert!(label_is_alive("elsewhere/1/1"));
        assert!(label_is_alive("garbage"));
    }
}
