//! One email over SMTP (lettre): `smtp://` upgrades with STARTTLS when the server offers it
//! (and must, before shipdeck sends a password), `smtps://` speaks TLS from the start. The
//! password comes from a `[secrets]` entry; the server's certificate is checked against the
//! system's roots (or SSL_CERT_FILE).

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::Notification;
use crate::config::EmailConfig;

/// How long one SMTP command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends `notification` as `email` says; `Ok` with the server's answer code.
pub async fn send(
    email: &EmailConfig,
    password: Option<String>,
    notification: &Notification,
) -> Result<String, String> {
    let url = url::Url::parse(&email.smtp).map_err(|_| "invalid smtp URL".to_string())?;
    let host = url.host_str().ok_or("the smtp URL has no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let params = TlsParameters::new(host.clone()).map_err(|e| format!("TLS: {e}"))?;
    let (port, tls) = match url.scheme() {
        "smtps" => (url.port().unwrap_or(465), Tls::Wrapper(params)),
        _ if password.is_some() => (url.port().unwrap_or(587), Tls::Required(params)),
        _ => (url.port().unwrap_or(587), Tls::Opportunistic(params)),
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(COMMAND_TIMEOUT));
    if let (Some(user), Some(password)) = (&email.user, password) {
        transport = transport.credentials(Credentials::new(user.clone(), password));
    }
    let transport = transport.build();
    let from = email.from.parse().map_err(|e| format!("invalid `from`: {e}"))?;
    let mut message = Message::builder().from(from).subject(notification.subject());
    for to in &email.to {
        message = message.to(to.parse().map_err(|e| format!("invalid `to`: {e}"))?);
    }
    let message = message
        .header(ContentType::TEXT_PLAIN)
        .body(notification.email_body())
        .map_err(|e| format!("cannot build the message: {e}"))?;
    let response = transport.send(message).await.map_err(describe)?;
    Ok(format!("SMTP {}", response.code()))
}

/// lettre's error, in a line: what the server said, or what broke.
fn describe(e: lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
