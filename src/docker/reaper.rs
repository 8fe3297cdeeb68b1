//! What runs leave on an engine, and whose it is: containers, volumes and dangling build
//! images labelled with a `dev.shipdeck.owner`. The start-up reap removes only what belongs to
//! a provably dead owner (see `owner`); what cannot be proven either way is an *orphan*, listed
//! by `shipdeck status` and the console and removed only by an explicit `shipdeck clean`.
//! Never removed here: anything of a live owner, anything without an owner (deployments and
//! their processes, accessories and their volumes, caches, locks, releases), images a
//! container uses.

use std::collections::HashMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListImagesOptionsBuilder, ListVolumesOptionsBuilder, RemoveImageOptionsBuilder,
};

use super::{is_not_found, labels, Docker, DockerError};
use crate::owner::{label_liveness, Liveness};

/// The roles of what a run creates and owns; the reaper looks at nothing else, so that a
/// label inherited by a deployment from its image can never make it reapable.
/// `service` is a stage's service container, `network` the network a stage meets them on.
const RUN_ROLES: &[&str] = &["stage", "workspace", "build", "service", "network"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftoverKind {
    Container,
    Volume,
    /// A stage's services network.
    Network,
    /// A dangling image of an interrupted package build.
    Image,
}

/// One object a run left on the engine, with what can be said about its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub kind: LeftoverKind,
    /// What the engine removes it by: the container's or image's ID, the volume's name.
    pub id: String,
    /// The container's or volume's name, the image's ID.
    pub name: String,
    pub app: String,
    pub run: String,
    pub owner: String,
    pub liveness: Liveness,
}

impl Leftover {
    /// `container shipdeck-app-3-sleepy (app app, run 3, owner box/12/…): it runs in another …`
    pub fn describe(&self) -> String {
        let kind = match self.kind {
            LeftoverKind::Container => "container",
            LeftoverKind::Volume => "volume",
            LeftoverKind::Network => "network",
            LeftoverKind::Image => "build image",
        };
        let why = match &self.liveness {
            Liveness::Alive => "its shipdeck runs",
            Liveness::Dead => "its shipdeck is gone",
            Liveness::Unknown(why) => why,
        };
        let text = format!(
            "{kind} {} (app {}, run {}, owner {}): {why}",
            short(&self.name),
            self.app,
            if self.run.is_empty() { "?" } else { &self.run },
            if self.owner.is_empty() { "?" } else { &self.owner }
        );
        // Labels are anyone's text: nothing in them reaches a terminal but plain characters.
        crate::term::strip_sgr(&crate::term::sanitize(&text))
    }
}

/// What a reap or a clean removed, by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reaped {
    pub containers: Vec<String>,
    pub volumes: Vec<String>,
    pub networks: Vec<String>,
    pub images: Vec<String>,
}

impl Reaped {
    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.volumes.is_empty() && self.networks.is_empty() && self.images.is_empty()
    }

    /// `sd-a-1-test, volume sd-a-1-workspace, build image 0123456789ab`
    pub fn names(&self) -> String {
        let mut what = self.containers.clone();
        what.extend(self.volumes.iter().map(|v| format!("volume {v}")));
        what.extend(self.networks.iter().map(|n| format!("network {n}")));
        what.extend(self.images.iter().map(|i| format!("build image {}", short(i))));
        what.join(", ")
    }
}

/// The result of the start-up reap: what it removed, and the orphans it left alone.
#[derive(Debug, Default, Clone)]
pub struct Sweep {
    pub reaped: Reaped,
    pub orphans: Vec<Leftover>,
}

impl Docker {
    /// Everything runs left on this engine (of `app`, or of every app), with each owner's
    /// liveness; objects of live owners included.
    pub async fn leftovers(&self, app: Option<&str>) -> Result<Vec<Leftover>, DockerError> {
        let mut wanted = vec![labels::OWNER.to_string()];
        if let Some(app) = app {
            wanted.push(format!("{}={app}", labels::APP));
        }
        let filters: HashMap<String, Vec<String>> = HashMap::from([("label".to_string(), wanted.clone())]);
        let mut out = Vec::new();
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .api
            .list_containers(Some(options))
            .await
            .map_err(|e| DockerError::api("list containers", e))?;
        for c in containers {
            let Some(id) = c.id else { continue };
            let name = c
                .names
                .and_then(|n| n.into_iter().next())
                .map(|n| n.trim_start_matches('/').to_string())
                .unwrap_or_else(|| id.clone());
            out.extend(leftover(
                LeftoverKind::Container,
                id,
                name,
                &c.labels.unwrap_or_default(),
            ));
        }
        let options = ListVolumesOptionsBuilder::default().filters(&filters).build();
        let volumes = self
            .api
            .list_volumes(Some(options))
            .await
            .map_err(|e| DockerError::api("list volumes", e))?;
        for v in volumes.volumes.unwrap_or_default() {
            out.extend(leftover(LeftoverKind::Volume, v.name.clone(), v.name, &v.labels));
        }
        for n in self.networks_labelled(&wanted).await? {
            out.extend(leftover(LeftoverKind::Network, n.id, n.name, &n.labels));
        }
        // Only dangling build images: an interrupted build's last step. A finished build's
        // steps are the release's parents, and go with it. Build images name no owner (see
        // `engine::package`), so they are found by their role.
        let mut build = vec![format!("{}=build", labels::ROLE)];
        build.extend(wanted.into_iter().skip(1));
        let image_filters: HashMap<String, Vec<String>> = HashMap::from([
            ("label".to_string(), build),
            ("dangling".to_string(), vec!["true".to_string()]),
        ]);
        let options = ListImagesOptionsBuilder::default().filters(&image_filters).build();
        let images = self
            .api
            .list_images(Some(options))
            .await
            .map_err(|e| DockerError::api("list images", e))?;
        for i in images {
            out.extend(leftover(LeftoverKind::Image, i.id.clone(), i.id, &i.labels));
        }
        build_images_of_live_apps_are_alive(&mut out);
        Ok(out)
    }

    /// The start-up reap: removes everything whose owner is provably dead, on every app, and
    /// returns the orphans (owners that cannot be judged from here) untouched.
    pub async fn reap_leftovers(&self) -> Result<Sweep, DockerError> {
        let found = self.leftovers(None).await?;
        let (dead, rest): (Vec<Leftover>, Vec<Leftover>) =
            found.into_iter().partition(|l| l.liveness == Liveness::Dead);
        let orphans = rest
            .into_iter()
            .filter(|l| matches!(l.liveness, Liveness::Unknown(_)))
            .collect();
        Ok(Sweep {
            reaped: self.remove_leftovers(&dead).await?,
            orphans,
        })
    }

    /// `shipdeck clean`: what is not provably alive — dead owners' leftovers and orphans — of
    /// `app` (or of every app). Returns what would be removed with `dry_run`, what was otherwise.
    pub async fn clean(&self, app: Option<&str>, dry_run: bool) -> Result<(Vec<Leftover>, Reaped), DockerError> {
        let found: Vec<Leftover> = self
            .leftovers(app)
            .await?
            .into_iter()
            .filter(|l| l.liveness != Liveness::Alive)
            .collect();
        if dry_run {
            return Ok((found, Reaped::default()));
        }
        let removed = self.remove_leftovers(&found).await?;
        Ok((found, removed))
    }

    /// Removes containers first (they hold networks, volumes and images), then networks,
    /// volumes, images;
    /// reports only what this call removed (an owner may have removed its own on the way out).
    async fn remove_leftovers(&self, these: &[Leftover]) -> Result<Reaped, DockerError> {
        let mut reaped = Reaped::default();
        let of = |kind| these.iter().filter(move |l| l.kind == kind);
        for c in of(LeftoverKind::Container) {
            if self.remove_container(&c.id).await? {
                reaped.containers.push(c.name.clone());
            }
        }
        for n in of(LeftoverKind::Network) {
            if self.remove_network(&n.id).await? {
                reaped.networks.push(n.name.clone());
            }
        }
        for v in of(LeftoverKind::Volume) {
            if self.remove_volume(&v.id).await? {
                reaped.volumes.push(v.name.clone());
            }
        }
        for i in of(LeftoverKind::Image) {
            if self.remove_dangling_image(&i.id).await? {
                reaped.images.push(i.name.clone());
            }
        }
        Ok(reaped)
    }

    /// Removes an untagged image and its untagged parents, never forced: one a container uses
    /// (a live build's next step) stays.
    async fn remove_dangling_image(&self, id: &str) -> Result<bool, DockerError> {
        let options = RemoveImageOptionsBuilder::default().build();
        match self.api.remove_image(id, Some(options), None).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 409, .. }) => Ok(false),
            Err(e) => Err(DockerError::api(format!("remove image {}", short(id)), e)),
        }
    }
}

/// An ownerless build image may be the latest step of a build that runs right now: while a
/// shipdeck here provably runs something of its app (a package stage holds a build lease, see
/// `engine::package`), it counts as alive, so that neither the start-up nor `clean` lists or
/// removes it between two steps of that build.
fn build_images_of_live_apps_are_alive(found: &mut [Leftover]) {
    let live: std::collections::HashSet<String> = found
        .iter()
        .filter(|l| l.liveness == Liveness::Alive)
        .map(|l| l.app.clone())
        .collect();
    for l in found.iter_mut() {
        if l.kind == LeftoverKind::Image && l.owner.is_empty() && live.contains(&l.app) {
            l.liveness = Liveness::Alive;
        }
    }
}

/// Why an ownerless build image is kept at start-up.
const UNOWNED_BUILD: &str = "build images do not record their shipdeck (so that the layer cache holds across runs)";

/// A run's object, if these labels say it is one: an owner (not empty: release images clear
/// it so that their containers never inherit one) and one of a run's roles. A dangling image
/// of role `build` needs no owner: build steps are labelled without one, and such an image is
/// an orphan that only `shipdeck clean` removes.
fn leftover(kind: LeftoverKind, id: String, name: String, l: &HashMap<String, String>) -> Option<Leftover> {
    let role = l.get(labels::ROLE).map(String::as_str).unwrap_or_default();
    if !RUN_ROLES.contains(&role) {
        return None;
    }
    let owner = l.get(labels::OWNER).filter(|o| !o.is_empty()).cloned();
    let (liveness, owner) = match owner {
        Some(owner) => (label_liveness(&owner), owner),
        None if kind == LeftoverKind::Image && role == "build" => (Liveness::Unknown(UNOWNED_BUILD), String::new()),
        None => return None,
    };
    Some(Leftover {
        kind,
        id,
        name,
        app: l.get(labels::APP).cloned().unwrap_or_default(),
        run: l.get(labels::RUN).cloned().unwrap_or_default(),
        liveness,
        owner,
    })
}

/// An image ID as `docker images` shows it; names pass through.
fn short(name: &str) -> &str {
    match name.strip_prefix("sha256:") {
        Some(hex) => hex.get(..12).unwrap_or(hex),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::owner::Owner;

    fn labelled(owner: &str, role: &str) -> HashMap<String, String> {
        labels::set(&[
            (labels::OWNER, owner),
            (labels::ROLE, role),
            (labels::APP, "a"),
            (labels::RUN, "3"),
        ])
    }

    #[test]
    fn only_owned_objects_of_a_run_are_leftovers() {
        let me = Owner::current().label();
        for role in RUN_ROLES {
            let found = leftover(LeftoverKind::Container, "c".into(), "c".into(), &labelled(&me, role));
            assert_eq!(found.map(|l| l.liveness), Some(Liveness::Alive), "{role}");
        }
        // A deployment inherits its release image's labels: never a run's leftover.
        for role in ["deployment", "release", "cache", "lock", "smoke-verdict", "proxy", ""] {
            assert_eq!(
                leftover(
                    LeftoverKind::Container,
                    "c".into(),
                    "c".into(),
                    &labelled("x/1/1/b/1", role)
                ),
                None
            );
        }
        assert_eq!(
            leftover(LeftoverKind::Container, "c".into(), "c".into(), &labelled("", "stage")),
            None
        );
    }

    #[test]
    fn an_ownerless_dangling_build_image_is_an_orphan_and_nothing_else_ownerless_is() {
        let mut build = labelled("", "build");
        build.remove(labels::OWNER);
        let image = leftover(
            LeftoverKind::Image,
            "i".into(),
            "sha256:0123456789abcdef".into(),
            &build,
        );
        let image = image.expect("an ownerless build image is a leftover");
        assert_eq!(image.liveness, Liveness::Unknown(UNOWNED_BUILD));
        assert_eq!(
            image.describe(),
            format!("build image 0123456789ab (app a, run 3, owner ?): {UNOWNED_BUILD}")
        );
        // The classic builder's step containers carry the same labels: a live build's step
        // must never be listed for `clean`, so containers and volumes still need an owner.
        for kind in [LeftoverKind::Container, LeftoverKind::Volume] {
            assert_eq!(leftover(kind, "c".into(), "c".into(), &build), None, "{kind:?}");
        }
        let mut release = labelled("", "release");
        release.remove(labels::OWNER);
        assert_eq!(leftover(LeftoverKind::Image, "i".into(), "i".into(), &release), None);
    }

    #[test]
    fn ownerless_build_images_of_an_app_a_live_shipdeck_runs_are_alive() {
        let me = Owner::current().label();
        let mut build = labelled("", "build");
        build.remove(labels::OWNER);
        let image = |app: &str| {
            let mut l = build.clone();
            l.insert(labels::APP.into(), app.into());
            leftover(LeftoverKind::Image, format!("i-{app}"), format!("i-{app}"), &l).unwrap()
        };
        let lease = leftover(LeftoverKind::Volume, "v".into(), "v".into(), &labelled(&me, "build")).unwrap();
        let stranger = {
            let mut l = labelled("elsewhere/1/1/b/1", "build");
            l.insert(labels::APP.into(), "b".into());
            leftover(LeftoverKind::Volume, "w".into(), "w".into(), &l).unwrap()
        };
        let mut found = vec![image("a"), image("b"), image("c"), lease, stranger];
        build_images_of_live_apps_are_alive(&mut found);
        let of = |id: &str| found.iter().find(|l| l.id == id).unwrap().liveness.clone();
        assert_eq!(of("i-a"), Liveness::Alive, "app a has a live lease");
        // A lease of unknown liveness proves nothing: its app's images stay orphans.
        assert_eq!(of("i-b"), Liveness::Unknown(UNOWNED_BUILD));
        assert_eq!(of("i-c"), Liveness::Unknown(UNOWNED_BUILD));
    }

    #[test]
    fn describes_why_an_orphan_is_kept() {
        let l = leftover(
            LeftoverKind::Image,
            "i".into(),
            "sha256:0123456789abcdef".into(),
            &labelled("h/1/1", "build"),
        );
        let text = l.unwrap().describe();
        assert!(
            text.starts_with("build image 0123456789ab (app a, run 3, owner h/1/1): "),
            "{text}"
        );
        assert!(text.contains("older shipdeck"), "{text}");
        let mut hostile = labelled("h/1/1", "stage");
        hostile.insert(labels::APP.into(), "x\x1b]52;c;aGk=\x07\x1b[2Jy\x1b[31m".into());
        let text = leftover(LeftoverKind::Volume, "v".into(), "v".into(), &hostile)
            .unwrap()
            .describe();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
        assert!(text.contains("app xy,"), "{text:?}");
    }
}
