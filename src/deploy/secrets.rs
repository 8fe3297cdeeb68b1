//! The secrets a release gets on an environment: the top-level `[secrets]`, then the
//! environment's own `[environments.X.secrets]` (which win on a name both define). Every one is
//! needed: a host variable that is not set refuses the operation, naming the variable, rather
//! than starting the app without its secret.

use crate::config::{Config, EnvironmentConfig};

/// `(name, value)` of each secret of `env`, values read by `lookup` (the host's environment);
/// or why not, naming every variable that is not set.
pub fn for_environment(
    config: &Config,
    env: &EnvironmentConfig,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    read(config, env, |_| true, lookup)
}

/// The secrets of `env` that `names` asks for (an accessory's `secrets`), read like
/// [`for_environment`]: only these must be set.
pub fn named(
    config: &Config,
    env: &EnvironmentConfig,
    names: &[String],
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    read(config, env, |name| names.iter().any(|n| n == name), lookup)
}

fn read(
    config: &Config,
    env: &EnvironmentConfig,
    wanted: impl Fn(&str) -> bool,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, String> {
    let mut values: Vec<(String, String)> = Vec::new();
    let mut missing = Vec::new();
    let top = config.secrets.iter().map(|s| (s, "[secrets]".to_string()));
    let own = env
        .secrets
        .iter()
        .map(|s| (s, format!("[environments.{}.secrets]", env.name)));
    for (secret, table) in top.chain(own).filter(|(s, _)| wanted(&s.name)) {
        values.retain(|(name, _)| *name != secret.name);
        match lookup(&secret.env) {
            Some(value) => values.push((secret.name.clone(), value)),
            None => missing.push(format!("{} of {table} reads ${}", secret.name, secret.env)),
        }
    }
    // An environment secret set on the host replaces a missing top-level one of its name.
    missing.retain(|m| {
        !values
            .iter()
            .any(|(name, _)| m.starts_with(&format!("{name} of [secrets]")))
    });
    if missing.is_empty() {
        return Ok(values);
    }
    Err(format!(
        "{} needs secrets whose host variables are not set: {}; set them in shipdeck's environment and try again (nothing was started without them)",
        env.name,
        missing.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        crate::config::parse(text, "release.toml", None).unwrap()
    }

    const TOML: &str = "[app]\nname = \"a\"\n[stages.p]\ndockerfile = \"Dockerfile\"\n[secrets]\nAPI = { env = \"HOST_API\" }\n[environments.staging]\n[environments.staging.secrets]\nSECRET_KEY = { env = \"STAGING_SECRET_KEY\" }\n[environments.production]\n";

    #[test]
    fn an_environment_gets_the_top_level_secrets_and_its_own() {
        let c = config(TOML);
        let lookup = |v: &str| Some(format!("value-of-{v}"));
        let staging = for_environment(&c, c.environment("staging").unwrap(), lookup).unwrap();
        assert_eq!(
            staging,
            vec![
                ("API".to_string(), "value-of-HOST_API".to_string()),
                ("SECRET_KEY".to_string(), "value-of-STAGING_SECRET_KEY".to_string())
            ]
        );
        let production = for_environment(&c, c.environment("production").unwrap(), lookup).unwrap();
        assert_eq!(
            production.len(),
            1,
            "staging's secret leaked into production: {production:?}"
        );
    }

    #[test]
    fn an_unset_variable_refuses_naming_it() {
        let c = config(TOML);
        let lookup = |v: &str| (v == "HOST_API").then(|| "x".repeat(20));
        let why = for_environment(&c, c.environment("staging").unwrap(), lookup).unwrap_err();
        assert!(why.contains("$STAGING_SECRET_KEY"), "{why}");
        assert!(why.contains("SECRET_KEY of [environments.staging.secrets]"), "{why}");
        assert!(!why.contains("HOST_API"), "{why}");
    }
}
