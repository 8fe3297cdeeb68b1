//! Who owns what shipdeck creates: one running shipdeck process, in one PID namespace, on one
//! boot of one kernel.
//!
//! The owner is written into the `dev.shipdeck.owner` label of everything a run creates, as
//! `host/pid/start/boot/pidns`, so that a later shipdeck can tell whether that process is gone
//! and reap what a crash left behind. A pid means something only in its PID namespace and a
//! start time only on its boot: two shipdecks in two CI containers sharing one engine (and one
//! hostname) see different processes under the same pid. So an owner is *provably dead* only
//! when it lived in our PID namespace on our boot and its pid is gone or now names a process
//! that started at another time. Everything else — another namespace, another machine, a label
//! of an older shipdeck without the namespace, an unreadable label — cannot be proven either
//! way: it is never reaped, only listed as orphaned and removed by an explicit `shipdeck clean`.
//!
//! Proof needs Linux's `/proc` (boot id, PID namespace, process start times). Elsewhere (macOS,
//! the BSDs) the host name and pid are still recorded through portable calls, but no other
//! owner is ever judged dead: [`Probe::None`] answers `Unknown` for everyone but this process.

use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// The process's start time in clock ticks since boot (Linux), or 0 where unknown.
    pub start: u64,
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`); empty where unknown (and in
    /// labels of shipdeck versions before it was recorded).
    pub boot: String,
    /// The PID namespace's inode number (`readlink /proc/self/ns/pid`); empty where unknown.
    pub pidns: String,
}

/// What can be said about an owner from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Liveness {
    /// Its process runs (or it is this process).
    Alive,
    /// It lived in our PID namespace on our boot, and its process is gone.
    Dead,
    /// Nothing can be proven from here; why, for the user.
    Unknown(&'static str),
}

impl Owner {
    /// This process.
    pub fn current() -> &'static Owner {
        static CURRENT: OnceLock<Owner> = OnceLock::new();
        CURRENT.get_or_init(|| Owner::of_this_process(Probe::of_platform()))
    }

    fn of_this_process(probe: Probe) -> Owner {
        let pid = std::process::id();
        let host = hostname();
        match probe {
            Probe::Proc => Owner {
                host,
                pid,
                // A /proc of another PID namespace would give another process's start time.
                start: if proc_is_ours() { process_start(pid) } else { None }.unwrap_or(0),
                boot: boot_id().unwrap_or_default(),
                pidns: pid_namespace().unwrap_or_default(),
            },
            Probe::None => Owner {
                host,
                pid,
                start: 0,
                boot: String::new(),
                pidns: String::new(),
            },
        }
    }

    /// Reads a label: `host/pid/start/boot/pidns`, or the older `host/pid/start` (whose
    /// namespace is unknown). Host names never hold a `/`.
    pub fn parse(label: &str) -> Option<Owner> {
        let parts: Vec<&str> = label.split('/').collect();
        let (host, pid, start, boot, pidns) = match parts.as_slice() {
            [host, pid, start] => (host, pid, start, "", ""),
            [host, pid, start, boot, pidns] => (host, pid, start, *boot, *pidns),
            _ => return None,
        };
        if host.is_empty() {
            return None;
        }
        Some(Owner {
            host: host.to_string(),
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
            boot: boot.to_string(),
            pidns: pidns.to_string(),
        })
    }

    pub fn label(&self) -> String {
        format!("{}/{}/{}/{}/{}", self.host, self.pid, self.start, self.boot, self.pidns)
    }

    /// Whether this owner's process is alive, gone, or out of our sight.
    pub fn liveness(&self) -> Liveness {
        self.liveness_from(Owner::current(), Probe::of_platform())
    }

    /// The judgement, from `me` with what `probe` can see (split out so that the portable path
    /// is tested on Linux too).
    fn liveness_from(&self, me: &Owner, probe: Probe) -> Liveness {
        if self == me {
            return Liveness::Alive;
        }
        if probe == Probe::None {
            return Liveness::Unknown("this platform cannot tell whether another process is alive");
        }
        if self.boot.is_empty() || self.pidns.is_empty() {
            return Liveness::Unknown("its label does not say its PID namespace (an older shipdeck)");
        }
        if me.boot.is_empty() || me.pidns.is_empty() || !proc_is_ours() {
            return Liveness::Unknown("this process cannot read its own PID namespace");
        }
        if self.boot != me.boot {
            return Liveness::Unknown("it ran on another machine or before a reboot");
        }
        if self.pidns != me.pidns {
            return Liveness::Unknown("it runs in another PID namespace (another container)");
        }
        match process_start(self.pid) {
            None => Liveness::Dead,
            Some(start) if self.start != 0 && start != self.start => Liveness::Dead,
            Some(_) if self.start == 0 => Liveness::Unknown("its start time is unknown and its pid is in use"),
            Some(_) => Liveness::Alive,
        }
    }

    /// Whether this owner is provably gone.
    pub fn is_dead(&self) -> bool {
        self.liveness() == Liveness::Dead
    }
}

/// What can be said about the owner written in a label; an unreadable one cannot be judged.
pub fn label_liveness(label: &str) -> Liveness {
    match Owner::parse(label) {
        Some(owner) => owner.liveness(),
        None => Liveness::Unknown("its owner label cannot be read"),
    }
}

/// Whether the owner written in a label may be alive: everything not provably dead counts, so
/// that nothing is reaped (or marked interrupted) on a guess.
pub fn label_is_alive(label: &str) -> bool {
    label_liveness(label) != Liveness::Dead
}

/// How this platform lets us look at other processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// Linux's `/proc`: boot id, PID namespace, start time of any pid in our namespace.
    Proc,
    /// Nothing portable proves a process gone (pids are reused, there is no boot id to compare):
    /// no other owner is ever called dead.
    None,
}

impl Probe {
    fn of_platform() -> Probe {
        if cfg!(target_os = "linux") {
            Probe::Proc
        } else {
            Probe::None
        }
    }
}

/// The host name (gethostname(2) through whoami, on every platform); `/` cannot appear in a label.
fn hostname() -> String {
    whoami::hostname()
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().replace('/', "_"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    (!id.is_empty() && !id.contains('/')).then(|| id.to_string())
}

/// The inode of our PID namespace: `pid:[4026531836]` → `4026531836`.
fn pid_namespace() -> Option<String> {
    let link = std::fs::read_link("/proc/self/ns/pid").ok()?;
    let link = link.to_str()?;
    let inode = link.strip_prefix("pid:[")?.strip_suffix(']')?;
    inode.parse::<u64>().ok().map(|n| n.to_string())
}

/// Whether `/proc` shows our own PID namespace (a `/proc` mounted for another one, as after
/// `unshare --pid --fork` without `--mount-proc`, names other processes under our pids).
fn proc_is_ours() -> bool {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str().and_then(|s| s.parse::<u32>().ok()))
        == Some(std::process::id())
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

    /// A pid that was in use a moment ago in our namespace and is gone now.
    fn exited_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    #[test]
    fn label_round_trips() {
        let me = Owner::current();
        assert_eq!(Owner::parse(&me.label()).as_ref(), Some(me));
        assert!(!me.boot.is_empty() && !me.pidns.is_empty(), "{me:?}");
        assert_eq!(me.liveness(), Liveness::Alive);
    }

    #[test]
    fn a_dead_pid_in_our_namespace_is_dead() {
        let ghost = Owner {
            pid: exited_pid(),
            start: 1,
            ..Owner::current().clone()
        };
        assert_eq!(ghost.liveness(), Liveness::Dead);
        assert!(!label_is_alive(&ghost.label()));
    }

    #[test]
    fn a_reused_pid_with_another_start_time_is_dead() {
        // Our own pid, started at another time: the process that wrote the label is gone.
        let me = Owner::current();
        let earlier = Owner {
            start: me.start.saturating_sub(1).max(1),
            ..me.clone()
        };
        assert_ne!(earlier.start, me.start);
        assert_eq!(earlier.liveness(), Liveness::Dead);
    }

    #[test]
    fn another_pid_namespace_or_boot_is_never_dead() {
        let pid = exited_pid();
        let me = Owner::current();
        let other_ns = Owner {
            pid,
            start: 1,
            pidns: "1".into(),
            ..me.clone()
        };
        assert!(matches!(other_ns.liveness(), Liveness::Unknown(_)));
        assert!(label_is_alive(&other_ns.label()));
        let other_boot = Owner {
            pid,
            start: 1,
            boot: "00000000-0000-0000-0000-000000000000".into(),
            ..me.clone()
        };
        assert!(matches!(other_boot.liveness(), Liveness::Unknown(_)));
        // Same host name, same dead pid: an older label without a namespace proves nothing.
        let legacy = format!("{}/{pid}/1", me.host);
        assert!(matches!(label_liveness(&legacy), Liveness::Unknown(_)));
        assert!(label_is_alive(&legacy));
    }

    #[test]
    fn without_proc_no_other_owner_is_ever_dead() {
        // What macOS sees: the portable probe. A pid that is provably gone on Linux, our own
        // pid with another start time, and a stranger's label all stay "unknown" there.
        let me = Owner::of_this_process(Probe::None);
        assert!(me.boot.is_empty() && me.pidns.is_empty() && me.start == 0, "{me:?}");
        assert_eq!(me.host, Owner::current().host);
        assert_eq!(me.liveness_from(&me, Probe::None), Liveness::Alive);
        let linux_me = Owner::current();
        let gone = Owner {
            pid: exited_pid(),
            start: 1,
            ..linux_me.clone()
        };
        assert_eq!(gone.liveness_from(linux_me, Probe::Proc), Liveness::Dead);
        for other in [
            gone.clone(),
            Owner { start: 1, ..me.clone() },
            Owner {
                pid: gone.pid,
                ..me.clone()
            },
        ] {
            assert!(
                matches!(other.liveness_from(&me, Probe::None), Liveness::Unknown(_)),
                "{other:?}"
            );
        }
    }

    #[test]
    fn the_host_name_matches_the_kernels() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(Owner::current().host, kernel.trim().replace('/', "_"));
    }

    #[test]
    fn other_hosts_and_garbage_count_as_alive() {
        assert!(label_is_alive("elsewhere/1/1"));
        assert!(label_is_alive("garbage"));
        assert!(label_is_alive(""));
        assert!(label_is_alive("a/b/c/d/e"));
        assert!(label_is_alive("/1/1"));
    }
}
