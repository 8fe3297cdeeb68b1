//! A run's workspace: a volume, mounted at `/workspace` in every stage of the run, that starts
//! as the commit's exact tree. Made on first use and removed when the run ends.

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::docker::{labels, Docker, DockerError};
use crate::owner::Owner;
use crate::source::CommitInfo;
use crate::store::RunNumber;

pub const MOUNT: &str = "/workspace";

pub struct Workspace {
    app: String,
    docker: Docker,
    pub volume: String,
    /// A name prefix unique to this run, for its containers.
    pub prefix: String,
    run: RunNumber,
    commit: String,
    pub tree: Arc<Vec<u8>>,
    created: OnceCell<()>,
    filled: OnceCell<()>,
}

impl Workspace {
    pub fn new(app: &str, docker: Docker, run: RunNumber, commit: &CommitInfo, tree: Arc<Vec<u8>>) -> Workspace {
        let prefix = format!("shipdeck-{app}-{run}-{}", unique_token());
        Workspace {
            app: app.to_string(),
            docker,
            volume: format!("{prefix}-workspace"),
            prefix,
            run,
            commit: commit.id.clone(),
            tree,
            created: OnceCell::new(),
            filled: OnceCell::new(),
        }
    }

    /// The labels of everything this run creates.
    pub fn labels(&self, role: &str, stage: Option<&str>) -> std::collections::HashMap<String, String> {
        let run = self.run.to_string();
        let owner = Owner::current().label();
        let mut set = labels::set(&[
            (labels::APP, &self.app),
            (labels::RUN, &run),
            (labels::COMMIT, &self.commit),
            (labels::OWNER, &owner),
            (labels::ROLE, role),
        ]);
        if let Some(stage) = stage {
            set.insert(labels::STAGE.to_string(), stage.to_string());
        }
        set
    }

    /// Creates the volume, once per run; before any container mounts it, so that it carries
    /// the run's labels (a bind would create it unlabelled).
    pub async fn ensure_created(&self) -> Result<(), DockerError> {
        self.created
            .get_or_try_init(|| self.docker.ensure_volume(&self.volume, self.labels("workspace", None)))
            .await
            .map(|_| ())
    }

    /// Unpacks the commit's tree into the volume, once per run, through `container`: a stage
    /// container that mounts the workspace and has been created but not started. Every stage
    /// calls this before it starts; the first one fills, the others wait for it. (Filling
    /// through a stage's own container saves creating and removing a helper container.)
    pub async fn ensure_filled(&self, container: &str) -> Result<(), DockerError> {
        self.filled
            .get_or_try_init(|| self.docker.upload_archive(container, MOUNT, self.tree.as_ref().clone()))
            .await
            .map(|_| ())
    }

    pub async fn remove(&self) -> Result<(), DockerError> {
        // Also when filling failed half-way: removing a volume that was never made is a no-op.
        self.docker.remove_volume(&self.volume).await.map(|_| ())
    }
}

/// Six hex digits that differ between runs and processes, so names never collide even when
/// two checkouts of one app both have a run 1.
fn unique_token() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:06x}", h.finish() & 0xff_ffff)
}
