//! Outgoing mail through an SMTP relay (plain SMTP: the relay is trusted to deliver,
//! as a local MTA or a sidecar is), configured by Rocket.Chat's settings `SMTP_Host`,
//! `SMTP_Port` and `From_Email`.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one delivery to the relay may take, connection included.
const RELAY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where mail goes, and from whom.
#[derive(Clone, Debug)]
pub struct Relay {
    pub host: String,
    pub port: u16,
    /// An address, or `Name <address>`.
    pub from: String,
}

impl Relay {
    /// The relay the settings describe; `None` when host or sender is blank, or the port
    /// is not a number (blank: 25).
    pub fn from_settings(host: &str, port: &str, from: &str) -> Option<Self> {
        let (host, port, from) = (host.trim(), port.trim(), from.trim());
        if host.is_empty() || from.is_empty() {
            return None;
        }
        let port = if port.is_empty() { 25 } else { port.parse().ok()? };
        Some(Self { host: host.to_owned(), port, from: from.to_owned() })
    }
}

/// One HTML mail.
pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub html: String,
}

/// Why a mail was not handed to the relay.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("not a mail address: {0}")]
    Address(String),
    #[error("the mail could not be built: {0}")]
    Build(String),
    #[error("the SMTP relay refused or could not be reached: {0}")]
    Relay(String),
}

/// Hands `email` to the relay, from and replying to the relay's sender; done when the
/// relay accepted it.
pub async fn send(relay: &Relay, email: Email<'_>) -> Result<(), MailError> {
    let from: Mailbox = relay.from.parse().map_err(|_| MailError::Address(relay.from.clone()))?;
    let to: Mailbox = email.to.parse().map_err(|_| MailError::Address(email.to.to_owned()))?;
    let message = Message::builder()
        .from(from.clone())
        .reply_to(from)
        .to(to)
        .subject(email.subject)
        .header(ContentType::TEXT_HTML)
        .body(email.html)
        .map_err(|error| MailError::Build(error.to_string()))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&relay.host)
        .port(relay.port)
        .timeout(Some(RELAY_TIMEOUT))
        .build();
    transport.send(message).await.map_err(|error| MailError::Relay(error.to_string()))?;
    Ok(())
}

/// `text` with HTML's special characters escaped, for a mail's body.
pub fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_needs_a_host_a_sender_and_a_numeric_port() {
        let relay = Relay::from_settings(" mail.local ", "", "Support <help@example.com>").unwrap();
        assert_eq!((relay.host.as_str(), relay.port), ("mail.local", 25));
        assert_eq!(Relay::from_settings("mail.local", "2525", "a@b.c").unwrap().port, 2525);
        assert!(Relay::from_settings("", "25", "a@b.c").is_none());
        assert!(Relay::from_settings("mail.local", "25", " ").is_none());
        assert!(Relay::from_settings("mail.local", "smtp", "a@b.c").is_none());
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(escape_html("<b>\"Tom\" & 'Jerry'</b>"), "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;");
    }
}
