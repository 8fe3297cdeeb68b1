//! An environment's own network: its release containers, their processes, the
//! release_command and the accessories join it, and reach each accessory by its key (`db`).
//! The name carries a hash of app and environment (see `docker::names`), and a network of
//! that name that is not labelled as this environment's is refused, never joined.

use crate::deploy::Target;
use crate::docker::{labels, names, DockerError};

/// The role label of an environment's network.
pub const ROLE: &str = "environment-network";

/// `shipdeck-net-{app}-{env}-{hash}`.
pub fn name(app: &str, env: &str) -> String {
    names::scoped("net", app, env)
}

/// Creates the environment's network unless it exists; its name. Called under the
/// environment's lock (engines before API 1.44 would accept a second network of one name).
pub async fn ensure(target: &Target) -> Result<String, DockerError> {
    let net = name(&target.app, &target.env.name);
    let docker = &target.docker;
    match docker.network_labels(&net).await? {
        Some(found) => {
            let ours = found.get(labels::APP) == Some(&target.app)
                && found.get(labels::ENV) == Some(&target.env.name)
                && found.get(labels::ROLE).map(String::as_str) == Some(ROLE);
            if !ours {
                return Err(DockerError::Api {
                    action: format!("use the network of {}", target.env.name),
                    message: format!(
                        "a network named {net} exists on the engine but is not labelled as {}'s of {}: remove it (`docker network rm {net}`) if nothing needs it",
                        target.env.name, target.app
                    ),
                });
            }
        }
        None => {
            let set = labels::set(&[
                (labels::APP, &target.app),
                (labels::ENV, &target.env.name),
                (labels::ROLE, ROLE),
            ]);
            docker.create_network(&net, set, false).await?;
        }
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    #[test]
    fn network_names_of_two_apps_never_meet() {
        assert_ne!(super::name("a", "x-y"), super::name("a-x", "y"));
        assert!(super::name("notes", "staging").starts_with("shipdeck-net-notes-staging-"));
    }
}
