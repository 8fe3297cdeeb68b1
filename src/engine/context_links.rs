//! Symlinks in a package stage's build context: each must resolve inside the context, alone
//! and through the other links it goes through, or the build is refused naming it.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::docker::DockerError;

/// A symlink at `path` (relative to the context) may stay in the build context only when
/// what it points to is inside the context too.
pub(super) fn check_link(context: &str, path: &str, target: &Path) -> Result<(), DockerError> {
    if link_stays_inside(path, target) {
        return Ok(());
    }
    let shown = Path::new(context).join(path);
    Err(DockerError::Build(format!(
        "the build context is made from the run's workspace only, and `{}` is a symlink to `{}`, outside the context\n  hint: copy the files into the context instead of linking to them",
        shown.display(),
        target.display()
    )))
}

/// Whether `target`, read from the link at `path`, resolves inside the context: relative,
/// and never climbing above the context's top with `..`.
fn link_stays_inside(path: &str, target: &Path) -> bool {
    let mut depth: usize = Path::new(path).parent().map_or(0, |p| p.components().count());
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// The symlinks of a build context: path relative to the context, and target.
pub(super) type Links = BTreeMap<String, PathBuf>;

/// Every link of the context must resolve inside it. `check_link` saw each link alone,
/// lexically; that holds only while no `..` climbs out of a directory reached through a link
/// (a `..` leaves where the link points to, not where it sits). So a link whose target does is
/// refused; every other one resolves inside, by induction over the links it goes through, as
/// each of those is checked too.
pub(super) fn check_link_chains(context: &str, links: &Links) -> Result<(), DockerError> {
    for (path, target) in links {
        if let Some(through) = climbs_through_link(path, target, links) {
            let shown = |p: &str| Path::new(context).join(p).display().to_string();
            return Err(DockerError::Build(format!(
                "the build context is made from the run's workspace only, and `{}` is a symlink to `{}`, whose `..` climbs back through the symlink `{}`, so it may lead outside the context\n  hint: make the link point straight to its target, or copy the files into the context",
                shown(path),
                target.display(),
                shown(through)
            )));
        }
    }
    Ok(())
}

/// The link of the context that a `..` of `target` (read from the link at `path`) climbs
/// out of or out of a directory under: the first link among the components walked so far.
/// Linear in the target's length (one lookup per component), whatever its `..`s.
fn climbs_through_link<'a>(path: &str, target: &Path, links: &'a Links) -> Option<&'a str> {
    // The path walked so far, the length of `at` before each of its components, and the first
    // link on it; once there is one, the next `..` is refused, so it never needs clearing.
    let mut at = String::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut through: Option<&'a str> = None;
    let enter = |at: &mut String, ends: &mut Vec<usize>, through: &mut Option<&'a str>, name: &str| {
        ends.push(at.len());
        if !at.is_empty() {
            at.push('/');
        }
        at.push_str(name);
        if through.is_none() {
            *through = links.get_key_value(at.as_str()).map(|(link, _)| link.as_str());
        }
    };
    let parent = Path::new(path).parent().unwrap_or(Path::new(""));
    for name in parent.iter() {
        enter(&mut at, &mut ends, &mut through, &name.to_string_lossy());
    }
    for component in target.components() {
        match component {
            Component::Normal(name) => enter(&mut at, &mut ends, &mut through, &name.to_string_lossy()),
            Component::ParentDir => {
                if through.is_some() {
                    return through;
                }
                if let Some(end) = ends.pop() {
                    at.truncate(end);
                }
            }
            // `check_link` refused absolute targets already.
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_may_point_inside_the_context_only() {
        assert!(link_stays_inside("a/b", Path::new("c")));
        assert!(link_stays_inside("a/b", Path::new("../d/e")));
        assert!(link_stays_inside("a", Path::new("./b")));
        assert!(!link_stays_inside("a", Path::new("../x")));
        assert!(!link_stays_inside("a/b", Path::new("../../x")));
        assert!(!link_stays_inside("a/b", Path::new("c/../../../x")));
        assert!(!link_stays_inside("a", Path::new("/etc/passwd")));
        let err = check_link("app", "cfg", Path::new("/home/me")).unwrap_err();
        assert!(
            err.to_string().contains("`app/cfg` is a symlink to `/home/me`"),
            "{err}"
        );
    }

    fn links(entries: &[(&str, &str)]) -> Links {
        entries
            .iter()
            .map(|(path, target)| (path.to_string(), PathBuf::from(target)))
            .collect()
    }

    #[test]
    fn a_dotdot_out_of_a_link_is_refused_naming_both_links() {
        // The chain attack: each link alone stays inside, lexically; together they leave.
        let chain = links(&[("dist/s", ".."), ("dist/l", "s/../..")]);
        for (path, target) in &chain {
            assert!(link_stays_inside(path, target), "{path}");
        }
        assert_eq!(
            climbs_through_link("dist/l", Path::new("s/../.."), &chain),
            Some("dist/s")
        );
        let err = check_link_chains("ctx", &chain).unwrap_err().to_string();
        assert!(
            err.contains(
                "`ctx/dist/l` is a symlink to `s/../..`, whose `..` climbs back through the symlink `ctx/dist/s`"
            ),
            "{err}"
        );
        // A `..` out of a directory under a link, or out of a link met deeper in the target.
        let deeper = links(&[("a/r", ".."), ("p", "a"), ("l", "p/r/..")]);
        assert_eq!(climbs_through_link("l", Path::new("p/r/.."), &deeper), Some("p"));
        let own_dir = links(&[("a", "b"), ("c/l", "../a/x/../y")]);
        assert_eq!(
            climbs_through_link("c/l", Path::new("../a/x/../y"), &own_dir),
            Some("a")
        );
        // A link that sits below a link of the commit (an artifact under it) cannot climb at all.
        let under = links(&[("d", "e"), ("d/l", "../f")]);
        assert_eq!(climbs_through_link("d/l", Path::new("../f"), &under), Some("d"));
        // A long target (near PATH_MAX) with a link deep inside it: found, in one walk.
        let long = format!("{}{}x", "a/".repeat(1000), "../".repeat(1000));
        let deep = links(&[("a/a/a", "."), ("l", long.as_str())]);
        assert_eq!(climbs_through_link("l", Path::new(&long), &deep), Some("a/a/a"));
        let none = links(&[("l", long.as_str())]);
        assert_eq!(climbs_through_link("l", Path::new(&long), &none), None);
    }

    #[test]
    fn links_to_links_and_dotdots_through_real_directories_are_kept() {
        let fine = links(&[
            ("dist/s", ".."),
            // A link whose last component is a link: fine, that one is checked too.
            ("dist/l", "s"),
            ("dist/m", "s/committed.txt"),
            ("gen/alias", "../dist/x/../data.txt"),
            ("gen/up", "sub/../../dist/s"),
        ]);
        assert!(check_link_chains("ctx", &fine).is_ok());
        for (path, target) in &fine {
            assert_eq!(climbs_through_link(path, target, &fine), None, "{path}");
        }
    }
}
