//! One plain-HTTP/1.1 request to an environment's published port, on hyper's low-level client.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The most of a body that is read; the rest is left unread.
pub(super) const BODY_CAP: usize = 1024 * 1024;

/// Where requests go: `http://HOST[:PORT][/base]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Without brackets for IPv6: `::1`.
    pub host: String,
    pub port: u16,
    /// The `Host` header: `127.0.0.1:18080`, `[::1]:8080`, or the host alone on port 80.
    pub authority: String,
    /// A path the URL carries, without a trailing `/`; usually empty.
    pub base_path: String,
}

/// An environment's URL that smoke checks cannot reach; the words quote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {why}")]
pub struct UrlError {
    pub url: String,
    pub why: UrlProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("expected a URL like http://127.0.0.1:18080")]
    NotAUrl,
    #[error(transparent)]
    Invalid(url::ParseError),
    #[error("smoke checks speak plain http only; publish the environment's HTTP port")]
    Https,
    #[error("unsupported scheme `{0}`, expected http://")]
    Scheme(String),
    #[error("user names in the URL are not supported")]
    UserInfo,
    #[error("no host")]
    NoHost,
    #[error("invalid port `0`")]
    PortZero,
}

impl Target {
    /// Parses `http://127.0.0.1:18080`, `http://localhost`, `http://[::1]:8080` (with the `url`
    /// crate: WHATWG parsing, so what a browser would make of the address is what is reached).
    pub fn parse(url: &str) -> Result<Target, UrlError> {
        let url = url.trim();
        let bad = |why: UrlProblem| UrlError {
            url: url.to_string(),
            why,
        };
        let parsed = url::Url::parse(url).map_err(|e| match e {
            url::ParseError::RelativeUrlWithoutBase => bad(UrlProblem::NotAUrl),
            e => bad(UrlProblem::Invalid(e)),
        })?;
        match parsed.scheme() {
            "http" => {}
            "https" => return Err(bad(UrlProblem::Https)),
            scheme => return Err(bad(UrlProblem::Scheme(scheme.to_string()))),
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(bad(UrlProblem::UserInfo));
        }
        let (host, bracketed) = match parsed.host() {
            Some(url::Host::Ipv6(ip)) => (ip.to_string(), format!("[{ip}]")),
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), ip.to_string()),
            Some(url::Host::Domain(name)) if !name.is_empty() => (name.to_string(), name.to_string()),
            _ => return Err(bad(UrlProblem::NoHost)),
        };
        let port = parsed.port().unwrap_or(80);
        if port == 0 {
            return Err(bad(UrlProblem::PortZero));
        }
        let authority = if port == 80 {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        Ok(Target {
            host,
            port,
            authority,
            base_path: parsed.path().trim_end_matches('/').to_string(),
        })
    }
}

/// An answer: its status and the start of its body (at most [`BODY_CAP`] bytes, lossily
/// decoded as UTF-8).
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub body: String,
}

/// Aborts the connection task when the request is done or dropped, so that a cancelled or
/// timed-out attempt leaves no task behind.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why one attempt got no answer; the words are a smoke result's message (`connection refused`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("{}", describe_io(.0))]
    Connect(std::io::Error),
    #[error("{}", describe_hyper(.0))]
    Http(hyper::Error),
    #[error("invalid request: {0}")]
    Request(hyper::http::Error),
    #[error("cannot open a connection from inside the environment's network: {0}")]
    Tunnel(String),
    #[error("reading the body of a {status} answer: {}", describe_hyper(.error))]
    Body { status: u16, error: hyper::Error },
}

/// An open HTTP/1.1 connection to the target (or through a tunnel), ready for requests; its
/// connection task and tunnel end when it is dropped.
pub(crate) struct Conn {
    pub sender: http1::SendRequest<Empty<Bytes>>,
    _task: AbortOnDrop,
    _tunnel: Option<Box<dyn Send>>,
}

/// Opens a connection to the target, directly or `via` a tunnel. No timeout of its own.
pub(crate) async fn open(target: &Target, via: &super::Via) -> Result<Conn, FetchError> {
    match via {
        super::Via::Published => {
            let stream = TcpStream::connect((target.host.as_str(), target.port))
                .await
                .map_err(FetchError::Connect)?;
            let _ = stream.set_nodelay(true);
            handshake(TokioIo::new(stream), None).await
        }
        super::Via::Inside {
            docker,
            container,
            host,
            port,
        } => {
            // `-t 30`: after the request is sent (our end shut), wait up to 30 s for the answer.
            let argv = vec![
                "socat".to_string(),
                "-t".into(),
                "30".into(),
                "-".into(),
                format!("TCP:{host}:{port}"),
            ];
            let stream = docker
                .exec_stream(container, argv)
                .await
                .map_err(|e| FetchError::Tunnel(e.to_string()))?;
            let (io, pumps) = stream.into_parts();
            handshake(TokioIo::new(io), Some(Box::new(pumps))).await
        }
    }
}

async fn handshake<I>(io: I, tunnel: Option<Box<dyn Send>>) -> Result<Conn, FetchError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(FetchError::Http)?;
    let task = AbortOnDrop(tokio::spawn(async move {
        // Its errors surface through the request's result.
        let _ = connection.await;
    }));
    Ok(Conn {
        sender,
        _task: task,
        _tunnel: tunnel,
    })
}

/// A request to `path` on the target, named by its `Host` as users' requests are.
pub(crate) fn request(
    target: &Target,
    method: hyper::Method,
    path: &str,
    agent: &str,
    keep_alive: bool,
) -> Result<hyper::Request<Empty<Bytes>>, FetchError> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(format!("{}{path}", target.base_path))
        .header(HOST, target.authority.as_str())
        .header(USER_AGENT, agent);
    if !keep_alive {
        builder = builder.header(CONNECTION, "close");
    }
    builder.body(Empty::<Bytes>::new()).map_err(FetchError::Request)
}

/// Sends one request and reads the answer, over a TCP connection to the target or `via` a
/// tunnel. No timeout of its own: the caller bounds it.
pub(super) async fn fetch(
    target: &Target,
    via: &super::Via,
    method: hyper::Method,
    path: &str,
) -> Result<Answer, FetchError> {
    let mut conn = open(target, via).await?;
    let request = request(target, method, path, "shipdeck-smoke", false)?;
    let response = conn.sender.send_request(request).await.map_err(FetchError::Http)?;
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while bytes.len() < BODY_CAP {
        let Some(frame) = body.frame().await else { break };
        let frame = frame.map_err(|error| FetchError::Body { status, error })?;
        if let Ok(data) = frame.into_data() {
            let room = BODY_CAP - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(Answer {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

/// `connection refused`, from `Connection refused (os error 111)`.
fn describe_io(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => text.as_str(),
    };
    lower_first(text)
}

/// hyper's words, with the I/O error underneath when there is one.
fn describe_hyper(e: &hyper::Error) -> String {
    use std::error::Error as _;
    if e.is_incomplete_message() {
        return "connection closed before a complete answer".to_string();
    }
    let mut text = lower_first(&e.to_string());
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            text.push_str(&format!(": {}", describe_io(io)));
            break;
        }
        source = s.source();
    }
    text
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
