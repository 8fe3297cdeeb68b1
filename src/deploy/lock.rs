//! One operator at a time per environment: a labelled volume on the environment's engine whose
//! name is the lock. The engine creates a name once, so of two shipdeck processes (on any
//! machines using that engine) racing for it, exactly one gets it; the other reads who holds it.
//! Not labelled with `dev.shipdeck.owner`: the reaper never breaks a lock; a stale one is
//! broken explicitly (`shipdeck unlock ENV`).

use chrono::{DateTime, Local, Utc};

use crate::deploy::model::Operator;
use crate::deploy::target::Target;
use crate::docker::{labels, Docker, DockerError};
use crate::owner::{label_is_alive, Owner};

/// A held lock; release it with [`EnvLock::release`].
#[derive(Debug)]
pub struct EnvLock {
    docker: Docker,
    volume: String,
    token: String,
}

/// Who holds an environment's lock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LockHolder {
    pub env: String,
    pub holder: String,
    pub doing: String,
    pub since: Option<DateTime<Utc>>,
    /// The holding process (`host/pid/start/boot/pidns`, see `owner`).
    pub process: String,
    /// Its process is provably gone (only known for processes in this PID namespace).
    pub stale: bool,
}

impl LockHolder {
    fn from_labels(env: &str, l: &std::collections::HashMap<String, String>) -> LockHolder {
        // Labels are written by whoever can reach the engine: plain text only past this point.
        let get = |k: &str| crate::term::plain_text(l.get(k).map(String::as_str).unwrap_or_default()).into_owned();
        let process = get(labels::LOCK_PROCESS);
        LockHolder {
            env: env.to_string(),
            holder: get(labels::LOCK_HOLDER),
            doing: get(labels::LOCK_DOING),
            since: DateTime::parse_from_rfc3339(&get(labels::LOCK_SINCE))
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            stale: !label_is_alive(&process),
            process,
        }
    }

    /// `staging is locked by alice@box (…) since 14:02:11 (deploy a1b2c3d)`, with what to do.
    pub fn describe(&self) -> String {
        let since = self
            .since
            .map(|t| t.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "an unknown time".into());
        let mut out = format!(
            "{} is locked by {} since {since} ({}; process {})",
            self.env, self.holder, self.doing, self.process
        );
        if self.stale {
            out.push_str(&format!(
                "\n  that process is gone: its operation ({}) was INTERRUPTED and the lock is stale; break it with `shipdeck unlock {}`, then run the operation again: what runs there is verified (smoke-checked) before anything is called fine",
                self.doing, self.env
            ));
        } else {
            out.push_str(&format!(
                "\n  wait for it to finish, or, if that operator is gone, `shipdeck unlock {}`",
                self.env
            ));
        }
        out
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}", .0.describe())]
    Held(LockHolder),
    #[error(transparent)]
    Docker(#[from] DockerError),
}

fn volume_name(target: &Target) -> String {
    crate::docker::names::scoped("lock", &target.app, &target.env.name)
}

/// Takes the environment's lock for `doing` ("deploy a1b2c3d"), or says who holds it.
pub async fn acquire(target: &Target, operator: &Operator, doing: &str) -> Result<EnvLock, LockError> {
    let volume = volume_name(target);
    let me = Owner::current().label();
    let token = format!("{me}/{}", Utc::now().timestamp_nanos_opt().unwrap_or_default());
    let wanted = labels::set(&[
        (labels::APP, &target.app),
        (labels::ENV, &target.env.name),
        (labels::ROLE, "lock"),
        (labels::LOCK_HOLDER, &operator.display()),
        (labels::LOCK_PROCESS, &me),
        (labels::LOCK_SINCE, &Utc::now().to_rfc3339()),
        (labels::LOCK_DOING, doing),
        (labels::LOCK_TOKEN, &token),
    ]);
    let got = target.docker.create_or_get_volume(&volume, wanted).await?;
    if got.get(labels::LOCK_TOKEN) == Some(&token) {
        return Ok(EnvLock {
            docker: target.docker.clone(),
            volume,
            token,
        });
    }
    Err(LockError::Held(LockHolder::from_labels(&target.env.name, &got)))
}

/// Who holds the environment's lock, if anyone.
pub async fn holder(target: &Target) -> Result<Option<LockHolder>, DockerError> {
    let labels = target.docker.volume_labels(&volume_name(target)).await?;
    Ok(labels.map(|l| LockHolder::from_labels(&target.env.name, &l)))
}

/// Removes the environment's lock, whoever holds it; returns who did.
pub async fn break_lock(target: &Target) -> Result<Option<LockHolder>, DockerError> {
    let held = holder(target).await?;
    if held.is_some() {
        target.docker.remove_volume(&volume_name(target)).await?;
    }
    Ok(held)
}

impl EnvLock {
    /// Gives the lock back, unless someone broke it and another operator holds it now.
    pub async fn release(self) {
        match self.docker.volume_labels(&self.volume).await {
            Ok(Some(l)) if l.get(labels::LOCK_TOKEN) == Some(&self.token) => {
                if let Err(e) = self.docker.remove_volume(&self.volume).await {
                    tracing::warn!("releasing the lock {} failed: {e}", self.volume);
                }
            }
            Ok(_) => tracing::warn!("the lock {} was broken while held", self.volume),
            Err(e) => tracing::warn!("releasing the lock {} failed: {e}", self.volume),
        }
    }
}
