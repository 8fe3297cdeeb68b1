//! Finding an environment by the name a user gave: the one message for a name release.toml
//! does not define, shared by the CLI and the engine.

use super::{Config, EnvironmentConfig};

/// `env` is not an environment of release.toml; says which ones are, and the closest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.env, .defined))]
pub struct UnknownEnvironment {
    pub env: String,
    /// The environments release.toml defines, in file order.
    pub defined: Vec<String>,
}

fn describe(env: &str, defined: &[String]) -> String {
    if defined.is_empty() {
        return format!("no environment `{env}`: release.toml defines none (add [environments.{env}])");
    }
    let hint = super::closest_name(env, defined.iter().map(String::as_str))
        .map(|c| format!("did you mean `{c}`? "))
        .unwrap_or_default();
    format!(
        "no environment `{env}` in release.toml: {hint}defined: {}",
        defined.join(", ")
    )
}

impl Config {
    /// The environment named `env`, or the error that tells the user what is defined.
    pub fn find_environment(&self, env: &str) -> Result<&EnvironmentConfig, UnknownEnvironment> {
        self.environment(env).ok_or_else(|| UnknownEnvironment {
            env: env.to_string(),
            defined: self.environments.iter().map(|e| e.name.clone()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::UnknownEnvironment;

    fn unknown(env: &str, defined: &[&str]) -> String {
        UnknownEnvironment {
            env: env.into(),
            defined: defined.iter().map(|d| d.to_string()).collect(),
        }
        .to_string()
    }

    #[test]
    fn names_what_is_defined_and_the_closest() {
        assert_eq!(
            unknown("stagin", &["staging", "production"]),
            "no environment `stagin` in release.toml: did you mean `staging`? defined: staging, production"
        );
        assert_eq!(
            unknown("qa", &["staging"]),
            "no environment `qa` in release.toml: defined: staging"
        );
    }

    #[test]
    fn says_how_to_add_one_when_none_is_defined() {
        assert_eq!(
            unknown("staging", &[]),
            "no environment `staging`: release.toml defines none (add [environments.staging])"
        );
    }
}
