//! What happens before a release is rolled out on an environment: its accessories run and are
//! ready, and for a new release (a deploy or a promotion, never a rollback) its
//! release_command has run and succeeded. A failure here changes nothing that serves.

use crate::deploy::model::{OpAction, ReleaseRef};
use crate::deploy::rollout::release_env;
use crate::deploy::{accessories, release_command, Target};
use crate::mask::SecretMasker;

/// Accessories up and ready, then the release_command when `action` brings a new release.
pub async fn before_rollout(
    target: &Target,
    release: &ReleaseRef,
    action: OpAction,
    secrets: &[String],
    masker: SecretMasker,
    log: &mut (dyn FnMut(String) + Send),
) -> Result<(), String> {
    accessories::ensure_all(target, secrets, log).await?;
    if !matches!(action, OpAction::Deploy | OpAction::Promote) {
        release_command::warn_if_behind(target, release, log).await;
        return Ok(());
    }
    if target.env.release_command.is_none() {
        return Ok(());
    }
    // The release already runs there: it was migrated when it was placed.
    let current = target.current().await.map_err(|e| e.to_string())?;
    if current.is_some_and(|c| c.running() && c.release.image_id == release.image_id) {
        return Ok(());
    }
    // Not on the engine: the rollout refuses it, saying how to build it.
    if !target
        .docker
        .image_exists(&release.image_id)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(());
    }
    let env = release_env(target, release, secrets);
    release_command::run(target, release, env, masker, log)
        .await
        .map(|_| ())
}
