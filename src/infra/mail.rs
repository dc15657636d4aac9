//! Mail out: SMTP through `lettre` when `SMTP_URL` is set, otherwise `.eml`
//! files under `VITRINA_DATA_DIR/mail/` (the embedded mode's mailbox, read
//! in the panel). Both build the same MIME message: a plain-text and an HTML
//! alternative, UTF-8, with the outbox entry's id as `Message-ID`.
use std::path::PathBuf;

use async_trait::async_trait;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::ports::{Mail, Mailer, StoredMail};

fn text_body(text: &str) -> Body {
    Body::new_with_encoding(text.to_string(), ContentTransferEncoding::EightBit)
        .or_else(|_| Body::new_with_encoding(text.to_string(), ContentTransferEncoding::QuotedPrintable))
        .unwrap_or_else(|_| Body::new(text.to_string()))
}

/// Decodes a quoted-printable body (soft line breaks, `=XX` bytes).
fn decode_qp(s: &str) -> String {
    let joined = s.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn message(from: &Mailbox, mail: &Mail) -> Result<Message, String> {
    let to: Mailbox = mail.to.parse().map_err(|e| format!("bad recipient {:?}: {e}", mail.to))?;
    let alternative = MultiPart::alternative()
        // 8-bit text where the lines allow it (readable in the file), else quoted-printable
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text_body(&mail.text)))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(Body::new_with_encoding(mail.html.clone(), ContentTransferEncoding::Base64).unwrap_or_else(|_| Body::new(mail.html.clone()))));
    let body = if mail.attachments.is_empty() {
        alternative
    } else {
        let mut mixed = MultiPart::mixed().multipart(alternative);
        for a in &mail.attachments {
            let kind = ContentType::parse(&a.content_type).map_err(|e| format!("attachment type {:?}: {e}", a.content_type))?;
            mixed = mixed.singlepart(lettre::message::Attachment::new(a.name.clone()).body(a.data.clone(), kind));
        }
        mixed
    };
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@vitrina>", mail.id)))
        .multipart(body)
        .map_err(|e| format!("cannot build the mail: {e}"))
}

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    /// `smtp://user:pass@host:587` (STARTTLS when the server offers it;
    /// `?tls=required` insists, `?tls=none` never), `smtps://…:465` (TLS from the start).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        let u = reqwest::Url::parse(url).map_err(|e| format!("SMTP_URL: {e}"))?;
        let host = u.host_str().ok_or("SMTP_URL has no host")?.to_string();
        let implicit = match u.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(format!("SMTP_URL: unknown scheme {other:?} (smtp or smtps)")),
        };
        let mode = u.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.to_string()).unwrap_or_default();
        let params = TlsParameters::new(host.clone()).map_err(|e| format!("SMTP TLS: {e}"))?;
        let tls = match (implicit, mode.as_str()) {
            (true, _) => Tls::Wrapper(params),
            (false, "required") => Tls::Required(params),
            (false, "none") => Tls::None,
            (false, "" | "opportunistic") => Tls::Opportunistic(params),
            (false, other) => return Err(format!("SMTP_URL: tls={other:?} (required, opportunistic or none)")),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(u.port().unwrap_or(if implicit { 465 } else { 587 }))
            .tls(tls)
            .timeout(Some(std::time::Duration::from_secs(15)));
        if !u.username().is_empty() {
            let decode = |s: &str| percent_decode(s);
            builder = builder.credentials(Credentials::new(decode(u.username()), decode(u.password().unwrap_or_default())));
        }
        Ok(Self { transport: builder.build(), from: from.parse().map_err(|e| format!("MAIL_FROM {from:?}: {e}"))? })
    }
}

fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        let m = message(&self.from, mail)?;
        self.transport.send(m).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
    }
    fn kind(&self) -> &'static str {
        "smtp"
    }
}

/// Writes each mail to `<dir>/<id>.eml` (a retry rewrites the same file).
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    pub fn new(dir: PathBuf, from: &str) -> Result<Self, String> {
        Ok(Self { dir, from: from.parse().map_err(|e| format!("MAIL_FROM {from:?}: {e}"))? })
    }
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &Mail) -> Result<(), String> {
        let bytes = message(&self.from, mail)?.formatted();
        tokio::fs::create_dir_all(&self.dir).await.map_err(|e| format!("mail folder: {e}"))?;
        let name: String = mail.id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect();
        let tmp = self.dir.join(format!(".{name}.tmp"));
        tokio::fs::write(&tmp, &bytes).await.map_err(|e| format!("mail file: {e}"))?;
        tokio::fs::rename(&tmp, self.dir.join(format!("{name}.eml"))).await.map_err(|e| format!("mail file: {e}"))
    }
    fn kind(&self) -> &'static str {
        "file"
    }
    async fn mailbox(&self, limit: usize) -> Option<Vec<StoredMail>> {
        Some(mailbox(&self.dir, limit).await)
    }
    async fn forget(&self, addresses: &[String]) -> Result<u64, String> {
        let Ok(mut dir) = tokio::fs::read_dir(&self.dir).await else { return Ok(0) };
        let wanted: Vec<String> = addresses.iter().filter(|a| !a.is_empty()).map(|a| a.to_lowercase()).collect();
        let mut n = 0;
        while let Some(entry) = dir.next_entry().await.map_err(|e| format!("mail folder: {e}"))? {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "eml") {
                continue;
            }
            let Ok(raw) = tokio::fs::read_to_string(&path).await else { continue };
            let to = read_eml("", &raw).to.to_lowercase();
            if wanted.iter().any(|a| to.contains(a.as_str())) {
                tokio::fs::remove_file(&path).await.map_err(|e| format!("mail file: {e}"))?;
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Reads the headers and the plain-text part of a mail this module wrote.
pub fn read_eml(file: &str, raw: &str) -> StoredMail {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let header = |name: &str| {
        head.split("\r\n").find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| decode_words(v.trim()))).unwrap_or_default()
    };
    // the text part: after its headers, up to the next boundary
    let text = body
        .split("Content-Type: text/plain")
        .nth(1)
        .and_then(|p| p.split_once("\r\n\r\n"))
        .map(|(headers, rest)| {
            let part = rest.split("\r\n--").next().unwrap_or_default();
            let part = if headers.contains("quoted-printable") { decode_qp(part) } else { part.to_string() };
            part.replace("\r\n", "\n")
        })
        .unwrap_or_default();
    StoredMail { file: file.into(), to: header("To"), subject: header("Subject"), date: header("Date"), text }
}

/// Decodes RFC 2047 `=?utf-8?b?…?=` words (lettre encodes non-ASCII subjects so).
fn decode_words(v: &str) -> String {
    use base64::Engine;
    v.split_whitespace()
        .map(|w| match w.strip_prefix("=?utf-8?b?").or_else(|| w.strip_prefix("=?UTF-8?B?")).and_then(|r| r.strip_suffix("?=")) {
            Some(b) => base64::engine::general_purpose::STANDARD.decode(b).ok().and_then(|d| String::from_utf8(d).ok()).unwrap_or_else(|| w.to_string()),
            None => format!(" {w} "),
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The mailbox of the embedded mode, newest first.
pub async fn mailbox(dir: &std::path::Path, limit: usize) -> Vec<StoredMail> {
    let mut files = Vec::new();
    if let Ok(mut rd) = tokio::fs::read_dir(dir).await {
        while let Ok(Some(e)) = rd.next_entry().await {
            let name = e.file_name().to_string_lossy().to_string();
            if name.ends_with(".eml") {
                let modified = e.metadata().await.ok().and_then(|m| m.modified().ok()).unwrap_or(std::time::UNIX_EPOCH);
                files.push((modified, name));
            }
        }
    }
    files.sort_by(|a, b| b.cmp(a));
    let mut out = Vec::new();
    for (_, name) in files.into_iter().take(limit) {
        if let Ok(raw) = tokio::fs::read_to_string(dir.join(&name)).await {
            out.push(read_eml(&name, &raw));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eml_reads_back_with_its_text_part() {
        let from: Mailbox = "Vitrina <shop@vitrina.test>".parse().unwrap();
        let mail = Mail { id: "mail-1".into(), to: "ana@example.ro".into(), subject: "Comanda V-000001 a fost plasată".into(), text: "Bună, Ana!\nTotal: 1.299,99 lei".into(), html: "<p>Bună</p>".into(), attachments: vec![] };
        let raw = String::from_utf8(message(&from, &mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <mail-1@vitrina>"), "{raw}");
        let read = read_eml("mail-1.eml", &raw);
        assert_eq!(read.subject, mail.subject);
        assert_eq!(read.to, "ana@example.ro");
        assert_eq!(read.text.trim_end(), mail.text);
        // a long line (a link with its token) goes quoted-printable and reads back the same
        let long = Mail { text: format!("Linkul: https://shop.example.ro/reset-password?token={}\nGata, ăîșț.", "a".repeat(120)), ..mail };
        let raw = String::from_utf8(message(&from, &long).unwrap().formatted()).unwrap();
        assert_eq!(read_eml("x.eml", &raw).text.trim_end(), long.text);
    }
}
