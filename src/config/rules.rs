//! Value rules shared by several tables: names, paths, `publish`, smoke check forms.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A Docker image repository name as shipdeck uses it for an app: lowercase letters, digits,
/// `.`, `_`, `-`; starting and ending with a letter or digit; at most 128 characters.
pub fn is_valid_app_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !name.is_empty()
        && name.len() <= 128
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name.chars().all(|c| alnum(c) || matches!(c, '.' | '_' | '-'))
}

/// A valid app name close to `name` (lowercased, other characters turned into `-`), if any.
pub fn suggest_app_name(name: &str) -> Option<String> {
    let mapped: String = name
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let candidate: String = trimmed.chars().take(128).collect();
    is_valid_app_name(&candidate).then_some(candidate)
}

/// A stage or environment name: letters, digits, `_`, `.`, `-`, starting with a letter or
/// digit (it becomes part of container, volume and label names).
pub fn is_valid_unit_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_env_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A valid environment variable name close to `name`: `api-key` → `API_KEY`.
pub(crate) fn suggest_env_name(name: &str) -> Option<String> {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    (is_valid_env_name(&out) && !out.trim_matches('_').is_empty()).then_some(out)
}

/// Whether a relative path climbs out of its base (`..` as a component).
pub(crate) fn has_parent_component(path: &str) -> bool {
    path.split(['/', '\\']).any(|part| part == "..")
}

/// A path relative to the workspace or app directory: not absolute, no `..`, not empty.
pub(crate) fn check_relative(path: &str) -> Result<(), String> {
    if path.trim().is_empty() {
        Err("expected a non-empty relative path".into())
    } else if path.starts_with('/') || path.starts_with('\\') {
        Err(format!(
            "\"{path}\" is absolute: expected a path relative to the workspace"
        ))
    } else if has_parent_component(path) {
        Err(format!(
            "\"{path}\" contains `..`: expected a path inside the workspace"
        ))
    } else {
        Ok(())
    }
}

/// A parsed `publish` value: `[IP:]HOST_PORT:CONTAINER_PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish {
    /// `None`: every interface (Docker's default).
    pub host_ip: Option<String>,
    pub host_port: u16,
    pub container_port: u16,
}

impl Publish {
    pub const EXPECTED: &'static str =
        "expected \"HOST_PORT:CONTAINER_PORT\" or \"IP:HOST_PORT:CONTAINER_PORT\", like \"127.0.0.1:18080:8080\"";

    pub fn parse(text: &str) -> Result<Publish, String> {
        let bad = || format!("\"{text}\": {}", Publish::EXPECTED);
        let (host, ports) = match text.rsplitn(3, ':').collect::<Vec<_>>().as_slice() {
            [container, host_port] => (None, (*host_port, *container)),
            [container, host_port, ip] => (Some(*ip), (*host_port, *container)),
            _ => return Err(bad()),
        };
        let port = |p: &str| -> Result<u16, String> {
            match p.parse::<u16>() {
                Ok(0) => Err(format!("\"{text}\": port 0 is not a port: expected 1 to 65535")),
                Ok(n) if p.chars().all(|c| c.is_ascii_digit()) => Ok(n),
                Ok(_) => Err(bad()),
                Err(_) if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) => {
                    Err(format!("\"{text}\": port {p} is out of range: expected 1 to 65535"))
                }
                Err(_) => Err(bad()),
            }
        };
        let host_port = port(ports.0)?;
        let container_port = port(ports.1)?;
        let host_ip = match host {
            None => None,
            Some(ip) => {
                let bare = ip.strip_prefix('[').and_then(|i| i.strip_suffix(']'));
                let valid = match bare {
                    Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
                    None => ip.parse::<Ipv4Addr>().is_ok(),
                };
                if ip == "localhost" {
                    return Err(format!(
                        "\"{text}\": `localhost` is not an IP address: write 127.0.0.1 (or [::1])"
                    ));
                }
                if !valid {
                    return Err(format!(
                        "\"{text}\": `{ip}` is not an IP address (write IPv6 in brackets, like \"[::1]:18080:8080\")"
                    ));
                }
                Some(bare.unwrap_or(ip).to_string())
            }
        };
        Ok(Publish {
            host_ip,
            host_port,
            container_port,
        })
    }

    /// The base URL a smoke check reaches the environment at: `http://127.0.0.1:18080`.
    /// An unspecified or wildcard address is reached through the loopback interface.
    pub fn url(&self) -> String {
        match self.host_ip.as_deref() {
            None | Some("0.0.0.0") => format!("http://127.0.0.1:{}", self.host_port),
            Some("::") => format!("http://[::1]:{}", self.host_port),
            Some(ip) if ip.contains(':') => format!("http://[{ip}]:{}", self.host_port),
            Some(ip) => format!("http://{ip}:{}", self.host_port),
        }
    }
}

pub(crate) const HTTP_METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// Normalises `"get /health"` to `"GET /health"`; a bare path means GET.
pub(crate) fn parse_http(text: &str) -> Result<String, (String, Option<String>)> {
    let expected = "expected \"METHOD /path\", like \"GET /health\"";
    let trimmed = text.trim();
    let (method, path) = match trimmed.split_once(char::is_whitespace) {
        Some((m, p)) => (m.to_ascii_uppercase(), p.trim()),
        None if trimmed.starts_with('/') => ("GET".to_string(), trimmed),
        None => return Err((format!("\"{text}\": {expected}"), None)),
    };
    if !HTTP_METHODS.contains(&method.as_str()) {
        let hint = crate::config::hint::did_you_mean(&method, HTTP_METHODS.iter().copied())
            .unwrap_or_else(|| format!("methods: {}", HTTP_METHODS.join(", ")));
        return Err((
            format!("unknown HTTP method `{method}` in \"{text}\": {expected}"),
            Some(hint),
        ));
    }
    if path.starts_with("http://") || path.starts_with("https://") {
        return Err((
            format!("\"{text}\": expected a path, not a URL"),
            Some("the host and port come from the environment's `publish`".into()),
        ));
    }
    if !path.starts_with('/') || path.contains(char::is_whitespace) {
        let hint = (!path.contains(char::is_whitespace) && !path.is_empty())
            .then(|| format!("paths start with `/`: did you mean \"{method} /{path}\"?"));
        return Err((format!("\"{text}\": {expected}"), hint));
    }
    Ok(format!("{method} {path}"))
}

pub const PLACEHOLDERS: &[&str] = &["commit", "short_commit", "env", "url"];

/// The unknown `{name}` placeholders of a text, with their byte offsets in it. Braces around
/// anything that is not an identifier (such as JSON) are literal text.
pub(crate) fn unknown_placeholders(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let ident_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        let ident = &after[..ident_len];
        let closed = after[ident_len..].starts_with('}');
        let is_ident = ident.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if closed && is_ident && !PLACEHOLDERS.contains(&ident) {
            out.push((base + open, ident));
        }
        base += open + 1;
        rest = after;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names() {
        for good in ["hello-py", "a", "app.v2", "x_y", "9lives"] {
            assert!(is_valid_app_name(good), "{good}");
        }
        for bad in ["", "Hello", "-x", "x-", "a b", "a/b", "_x"] {
            assert!(!is_valid_app_name(bad), "{bad}");
        }
        assert_eq!(suggest_app_name("Hello Py"), Some("hello-py".into()));
        assert_eq!(suggest_app_name("--"), None);
    }

    #[test]
    fn env_and_unit_names() {
        assert!(is_valid_env_name("API_TOKEN") && is_valid_env_name("_x1"));
        assert!(!is_valid_env_name("1X") && !is_valid_env_name("A-B") && !is_valid_env_name(""));
        assert!(is_valid_unit_name("build-2") && !is_valid_unit_name("my stage"));
        assert_eq!(suggest_env_name("api-key").as_deref(), Some("API_KEY"));
        assert_eq!(suggest_env_name("1x").as_deref(), Some("_1X"));
        assert_eq!(suggest_env_name("--"), None);
    }

    #[test]
    fn publish_forms() {
        let p = Publish::parse("127.0.0.1:18080:8080").unwrap();
        assert_eq!(p.host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!((p.host_port, p.container_port), (18080, 8080));
        assert_eq!(p.url(), "http://127.0.0.1:18080");
        let p = Publish::parse("18080:8080").unwrap();
        assert_eq!((p.host_ip, p.host_port), (None, 18080));
        let p = Publish::parse("[::1]:18080:80").unwrap();
        assert_eq!(p.url(), "http://[::1]:18080");
        for bad in [
            "8080",
            "a:b",
            "1.2.3:80:80",
            "0:80",
            "99999:80",
            "x:1:2:3",
            "80:+80",
            ":80",
        ] {
            assert!(Publish::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn http_forms() {
        assert_eq!(parse_http("GET /health"), Ok("GET /health".into()));
        assert_eq!(parse_http("post  /x?y=1"), Ok("POST /x?y=1".into()));
        assert_eq!(parse_http("/health"), Ok("GET /health".into()));
        assert!(parse_http("GET health").is_err());
        assert!(parse_http("GTE /health").unwrap_err().1.unwrap().contains("`GET`"));
        assert!(parse_http("GET http://x/health").is_err());
        assert!(parse_http("health").is_err());
    }

    #[test]
    fn placeholders() {
        assert!(unknown_placeholders("{commit} {short_commit} {env} {url}").is_empty());
        assert!(unknown_placeholders("{\"status\": \"ok\"} {} {1}").is_empty());
        assert_eq!(
            unknown_placeholders("v={comit}, {sha}"),
            vec![(2, "comit"), (11, "sha")]
        );
    }

    #[test]
    fn relative_paths() {
        assert!(check_relative("dist/").is_ok());
        assert!(check_relative("/dist").is_err());
        assert!(check_relative("a/../../b").is_err());
        assert!(check_relative("").is_err());
        assert!(check_relative("..foo/x").is_ok());
    }
}
