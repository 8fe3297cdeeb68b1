//! One JSON POST over HTTP/1.1, plain or TLS (rustls, with the system's roots: /etc/ssl/certs,
//! or SSL_CERT_FILE / SSL_CERT_DIR), on hyper's low-level client. Redirects are not followed:
//! a webhook that moved answers 3xx, which is a failure the user should see.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{CONNECTION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// How much of an error answer's body is quoted.
const EXCERPT: usize = 200;

/// Why a POST failed, in words that never quote the URL (it is a secret).
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("invalid URL")]
    Url,
    #[error("cannot connect: {0}")]
    Connect(std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("HTTP: {0}")]
    Http(String),
    #[error("HTTP {status}{excerpt}")]
    Status { status: u16, excerpt: String },
}

/// POSTs `body` as JSON to `url` with `headers`; `Ok(status)` for a 2xx answer.
pub async fn post_json(url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Result<u16, PostError> {
    let parsed = url::Url::parse(url).map_err(|_| PostError::Url)?;
    let host = parsed.host_str().ok_or(PostError::Url)?.to_string();
    let tls = match parsed.scheme() {
        "http" => false,
        "https" => true,
        _ => return Err(PostError::Url),
    };
    let port = parsed.port_or_known_default().ok_or(PostError::Url)?;
    let authority = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let path = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let connect_host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let tcp = TcpStream::connect((connect_host.as_str(), port))
        .await
        .map_err(PostError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let request = hyper::Request::post(path)
        .header(HOST, authority)
        .header(USER_AGENT, concat!("shipdeck/", env!("CARGO_PKG_VERSION")))
        .header(CONTENT_TYPE, "application/json")
        .header(CONNECTION, "close");
    let request = headers
        .iter()
        .fold(request, |r, (name, value)| r.header(*name, value.as_str()))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| PostError::Http(e.to_string()))?;
    if tls {
        let name = rustls::pki_types::ServerName::try_from(connect_host).map_err(|_| PostError::Url)?;
        let config = tls_config().map_err(PostError::Tls)?;
        let stream = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| PostError::Tls(e.to_string()))?;
        send(stream, request).await
    } else {
        send(tcp, request).await
    }
}

async fn send<S>(stream: S, request: hyper::Request<Full<Bytes>>) -> Result<u16, PostError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| PostError::Http(e.to_string()))?;
    // The connection is driven beside the request; it ends with it (Connection: close).
    let driver = tokio::spawn(connection);
    let answer = sender.send_request(request).await;
    let result = match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            if response.status().is_success() {
                Ok(status)
            } else {
                let body = read_some(response.into_body()).await;
                let excerpt = crate::term::plain_text(&body).trim().to_string();
                let excerpt = if excerpt.is_empty() {
                    String::new()
                } else {
                    format!(": {}", crate::text::truncate(&excerpt, EXCERPT))
                };
                Err(PostError::Status { status, excerpt })
            }
        }
        Err(e) => Err(PostError::Http(e.to_string())),
    };
    driver.abort();
    result
}

/// Up to a few KiB of a body, as text.
async fn read_some(mut body: hyper::body::Incoming) -> String {
    let mut out = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Some(data) = frame.data_ref() {
            out.extend_from_slice(data);
        }
        if out.len() > 4096 {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The client configuration, built once: ring, the platform's roots.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, String> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(
                    "no trusted root certificates found (install ca-certificates, or set SSL_CERT_FILE)".into(),
                );
            }
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map(|b| Arc::new(b.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
}
