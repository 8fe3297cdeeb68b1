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
            .unwrap_or_else(os_user_of_process);
        Operator {
            git_user,
            os_user,
            host: Owner::current().host.clone(),
        }
    }
}

/// The login name of this process's user (getpwuid through whoami: macOS keeps its users in
/// Directory Services, not /etc/passwd); `uid<N>` when the user has no name.
fn os_user_of_process() -> String {
    whoami::username()
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("uid{}", rustix::process::getuid().as_raw()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_user_comes_from_the_uid_when_the_environment_says_nothing() {
        let uid = rustix::process::getuid().as_raw().to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        let expected = passwd
            .lines()
            .map(|line| line.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[2] == uid)
            .map(|f| f[0].to_string())
            .unwrap_or_else(|| format!("uid{uid}"));
        assert_eq!(os_user_of_process(), expected);
    }
}
