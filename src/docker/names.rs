//! Names of the objects shipdeck keeps on an engine. Names join app, environment or stage with
//! `-`, and both may contain `-`: app `a` with environment `x-y` and app `a-x` with environment
//! `y` would share `shipdeck-lock-a-x-y`. Every name therefore ends in a hash of its parts
//! taken apart (FNV-1a: stable across builds and platforms, unlike std's hasher), and readers
//! still check the object's `app`/`env` labels before trusting it.

/// FNV-1a over `parts`, each followed by a NUL so that `("a", "x-y")` and `("a-x", "y")` differ.
pub fn parts_hash(parts: &[&str]) -> u32 {
    let hash = parts
        .iter()
        .flat_map(|p| p.bytes().chain(std::iter::once(0)))
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
        });
    hash as u32
}

/// `shipdeck-{kind}-{app}-{scope}-{hash}`: readable, and unique for each (app, scope).
pub fn scoped(kind: &str, app: &str, scope: &str) -> String {
    format!("shipdeck-{kind}-{app}-{scope}-{:08x}", parts_hash(&[app, scope]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_different_apps_and_scopes_never_meet() {
        assert_ne!(scoped("lock", "a", "x-y"), scoped("lock", "a-x", "y"));
        assert_ne!(parts_hash(&["a", "bc"]), parts_hash(&["ab", "c"]));
        assert_eq!(scoped("lock", "a", "b"), scoped("lock", "a", "b"));
        assert!(scoped("lock", "hello-py", "staging").starts_with("shipdeck-lock-hello-py-staging-"));
    }
}
