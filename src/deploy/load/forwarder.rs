//! A loopback path to a release that publishes nothing yet: a short-lived HAProxy (the
//! proxy's image and config, one server: the new release's address on the environment's
//! network) publishing a port on 127.0.0.1 chosen by the engine. Only shipdeck's load test
//! uses it; users' traffic keeps going through the environment's own proxy.
//!
//! Why not the pre-switch smoke checks' tunnel (`docker exec socat` in the proxy container)?
//! It costs one exec through the engine's API per connection: fine for a smoke check, but an
//! app that closes each connection (HTTP/1.0, like hello-py) needs one per request, and that
//! tunnel, measured at 100 req/s, answered with a p50 of 5.5 s and left 81% of the requests
//! unanswered after 10 s. A socat forwarder (a process forked per connection) was measured
//! too: p50 0.3–0.5 s at 50 req/s where HAProxy gave 13–37 ms on the same (busy) machine.
//!
//! Only on the local engine: a remote engine's 127.0.0.1 is not this machine's; there the
//! exec tunnel is used, and its limits show in the figures.

use std::time::{Duration, Instant};

use crate::config::Publish;
use crate::deploy::network;
use crate::deploy::proxy::{haproxy, Upstream};
use crate::deploy::target::Target;
use crate::docker::{labels, DeploymentSpec, DockerError};

const ROLE: &str = "load-forwarder";
const PORT: u16 = 8080;
/// How long the forwarder may take to accept connections.
const START_LIMIT: Duration = Duration::from_secs(10);

/// A running forwarder; [`Forwarder::close`] removes it (it is also removed by the next load
/// run on the environment if a crash left it).
pub struct Forwarder {
    id: String,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
}

/// Starts a forwarder to `host:port` on the target's network.
pub async fn open(target: &Target, host: &str, port: u16) -> Result<Forwarder, DockerError> {
    let docker = &target.docker;
    remove_leftovers(target).await?;
    let release = Upstream {
        container: host.to_string(),
        address: host.to_string(),
        port,
    };
    let config = haproxy::config(PORT, Some(("a", &release)));
    let name = format!(
        "{}-{}",
        crate::docker::names::scoped("load", &target.app, &target.env.name),
        std::process::id()
    );
    let spec = DeploymentSpec {
        name,
        image: target.env.proxy_image.clone(),
        labels: labels::set(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, ROLE),
        ]),
        env: vec![
            format!("SHIPDECK_PROXY_CONFIG={config}"),
            format!("SHIPDECK_PROXY_PORT={PORT}"),
        ],
        publish: Some(Publish {
            host_ip: Some("127.0.0.1".into()),
            host_port: 0,
            container_port: PORT,
        }),
        network: Some(network::name(&target.app, &target.env.name)),
        ..Default::default()
    };
    let id = docker.create_deployment(&spec).await?;
    let forwarder = match start(target, &id).await {
        Ok(host_port) => Forwarder {
            id,
            url: format!("http://127.0.0.1:{host_port}"),
            port: host_port,
        },
        Err(e) => {
            let _ = docker.remove_container(&id).await;
            return Err(e);
        }
    };
    Ok(forwarder)
}

async fn start(target: &Target, id: &str) -> Result<u16, DockerError> {
    let docker = &target.docker;
    docker.start(id).await?;
    let host_port = docker.published_port(id, PORT).await?.ok_or_else(|| DockerError::Api {
        action: "start the load forwarder".into(),
        message: "the engine published no port for it".into(),
    })?;
    // Listening once a connection is accepted and kept (docker-proxy accepts before HAProxy
    // listens, then closes at once).
    let started = Instant::now();
    loop {
        if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", host_port)).await {
            let mut byte = [0u8; 1];
            let closed = tokio::time::timeout(Duration::from_millis(100), stream.peek(&mut byte)).await;
            if !matches!(closed, Ok(Ok(0)) | Ok(Err(_))) {
                return Ok(host_port);
            }
        }
        if started.elapsed() > START_LIMIT {
            return Err(DockerError::Api {
                action: "start the load forwarder".into(),
                message: format!("it did not accept connections within {} s", START_LIMIT.as_secs()),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Forwarder {
    pub async fn close(self, target: &Target) -> Result<(), DockerError> {
        target.docker.remove_container(&self.id).await.map(|_| ())
    }
}

async fn remove_leftovers(target: &Target) -> Result<(), DockerError> {
    let found = target
        .docker
        .containers_labelled(&[
            (labels::APP, &target.app),
            (labels::ENV, &target.env.name),
            (labels::ROLE, ROLE),
        ])
        .await?;
    for c in found {
        target.docker.remove_container(&c.id).await?;
    }
    Ok(())
}
