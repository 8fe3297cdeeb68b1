//! What `shipdeck check` says about the secrets' values on this host: a value too short to
//! mask, or short enough to be weak, is a warning (the file itself is fine).

use super::Config;
use crate::mask::{MIN_SECRET_LEN, WEAK_SECRET_LEN};

impl Config {
    /// Warnings about the secrets' values as `lookup` (the host's environment) gives them.
    /// Never includes a value, only its length.
    pub fn secret_warnings(&self, lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
        let mut out = Vec::new();
        for secret in &self.secrets {
            let Some(value) = lookup(&secret.env) else {
                continue;
            };
            let n = value.chars().count();
            if n < MIN_SECRET_LEN {
                out.push(format!(
                    "secret {} (${}) is {n} characters long: shorter than {MIN_SECRET_LEN}, it is NOT masked in logs; use a longer value",
                    secret.name, secret.env
                ));
            } else if n < WEAK_SECRET_LEN {
                out.push(format!(
                    "secret {} (${}) is {n} characters long: shorter than {WEAK_SECRET_LEN}, it is easy to guess and masking it may hide unrelated text; use a longer value",
                    secret.name, secret.env
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_values_are_warned_about_without_showing_them() {
        let text = "[app]\nname = \"a\"\n[stages.t]\nimage = \"i\"\nrun = \"r\"\n[secrets]\nA = { env = \"VA\" }\nB = { env = \"VB\" }\nC = { env = \"VC\" }\nD = { env = \"VD\" }\n";
        let config = crate::config::parse(text, "release.toml", None).unwrap();
        let warnings = config.secret_warnings(|v| match v {
            "VA" => Some("abc".into()),
            "VB" => Some("abcdefg".into()),
            "VC" => Some("abcdefgh".into()),
            _ => None,
        });
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].starts_with("secret A ($VA) is 3 characters long") && warnings[0].contains("NOT masked"));
        assert!(
            warnings[1].starts_with("secret B ($VB) is 7 characters long") && warnings[1].contains("shorter than 8")
        );
        assert!(warnings.iter().all(|w| !w.contains("abc")));
    }
}
