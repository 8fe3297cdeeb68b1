//! Who is operating: the git identity of the repository, the OS user, the host.

use crate::deploy::model::Operator;
use crate::owner::Owner;

impl Operator {
    /// The operator of this process, with the git identity configured for `repo` (its own
    /// config, then the global one).
    pub fn current(repo: &std::path::Path) -> Operator {
        let git_user = git2::Repository::open(repo)
            .and_then(|r| r.config())
            .or_else(|_| git2::Config::open_default())
            .ok()
            .and_then(|config| {
                let name = config.get_string("user.name").ok();
                let email = config.get_string("user.email").ok();
                match (name, email) {
                    (Some(n), Some(e)) => Some(format!("{n} <{e}>")),
                    (Some(n), None) => Some(n),
                    (None, Some(e)) => Some(format!("<{e}>")),
                    (None, None) => None,
                }
            });
        let os_user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| user_of_uid(&unsafe_free_uid()));
        Operator {
            git_user,
            os_user,
            host: Owner::current().host.clone(),
        }
    }
}

/// The login name of a user ID, from /etc/passwd; `uid<N>` when it has none.
fn user_of_uid(uid: &str) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("uid{uid}"))
}

/// The real user ID, read from /proc (no libc call needed).
fn unsafe_free_uid() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .unwrap_or_else(|| "?".into())
}
