//! ANAF's web services: RO e-Factura (OAuth2 + `upload`, `uploadb2c`,
//! `stareMesaj`, `descarcare`) and the public register of VAT payers
//! (`PlatitorTvaRest` v9). Base URLs are configurable (test / prod, or a stand-in).
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;

use crate::domain::billing::CompanyInfo;
use crate::domain::order::{Address, RO_COUNTIES};
use crate::ports::{CompanyRegistry, EfacturaError, EfacturaGateway, MessageState, TokenGrant};

fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder().timeout(timeout).connect_timeout(Duration::from_secs(5)).build().map_err(|e| format!("HTTP client: {e}"))
}

/// The value of `name="…"` in an XML answer's first element that has it.
fn attr(xml: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = xml.find(&key)? + key.len();
    let end = xml[start..].find('"')?;
    Some(unescape(&xml[start..start + end]))
}

/// Every `name="…"` value, in order.
fn attrs(xml: &str, name: &str) -> Vec<String> {
    let key = format!("{name}=\"");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&key) {
        let after = &rest[i + key.len()..];
        let Some(end) = after.find('"') else { break };
        out.push(unescape(&after[..end]));
        rest = &after[end..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// RO e-Factura over HTTP.
pub struct AnafEfactura {
    http: reqwest::Client,
    api_url: String,
    token_url: String,
    client_id: String,
    client_secret: String,
}

impl AnafEfactura {
    pub fn new(api_url: &str, token_url: &str, client_id: &str, client_secret: &str) -> Result<Self, String> {
        Ok(Self { http: client(Duration::from_secs(60))?, api_url: api_url.trim_end_matches('/').into(), token_url: token_url.into(), client_id: client_id.into(), client_secret: client_secret.into() })
    }

    async fn get(&self, access_token: &str, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Response, EfacturaError> {
        let r = self.http.get(format!("{}/{path}", self.api_url)).bearer_auth(access_token).query(query).send().await.map_err(|e| EfacturaError::Unavailable(e.to_string()))?;
        check_status(r).await
    }
}

async fn check_status(r: reqwest::Response) -> Result<reqwest::Response, EfacturaError> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    let body = r.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["message"].as_str().or(v["eroare"].as_str()).map(str::to_string)).unwrap_or_else(|| body.chars().take(300).collect());
    Err(match status.as_u16() {
        401 | 403 => EfacturaError::Refused(format!("{status}: {message}")),
        _ => EfacturaError::Unavailable(format!("{status}: {message}")),
    })
}

#[async_trait]
impl EfacturaGateway for AnafEfactura {
    async fn refresh(&self, refresh_token: &str) -> Result<TokenGrant, EfacturaError> {
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", &self.client_id), ("client_secret", &self.client_secret)];
        let r = self.http.post(&self.token_url).basic_auth(&self.client_id, Some(&self.client_secret)).form(&form).send().await.map_err(|e| EfacturaError::Unavailable(e.to_string()))?;
        let status = r.status();
        let body: serde_json::Value = r.json().await.map_err(|e| EfacturaError::Unavailable(format!("token answer: {e}")))?;
        if status.as_u16() == 400 || status.as_u16() == 401 {
            return Err(EfacturaError::TokenRefused(body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("refused").to_string()));
        }
        if !status.is_success() {
            return Err(EfacturaError::Unavailable(format!("token server answered {status}")));
        }
        let text = |k: &str| body[k].as_str().map(str::to_string).ok_or_else(|| EfacturaError::Unavailable(format!("token answer without {k}")));
        let now = Utc::now();
        let secs = |k: &str, default: i64| chrono::Duration::seconds(body[k].as_i64().unwrap_or(default));
        Ok(TokenGrant {
            access_token: text("access_token")?,
            // ANAF may keep the refresh token: then the one used stays
            refresh_token: body["refresh_token"].as_str().unwrap_or(refresh_token).to_string(),
            access_expires_at: now + secs("expires_in", 3600),
            refresh_expires_at: now + secs("refresh_token_expires_in", 365 * 24 * 3600),
        })
    }

    async fn upload(&self, access_token: &str, xml: &str, credit_note: bool, seller_cui: &str, to_person: bool) -> Result<String, EfacturaError> {
        let path = if to_person { "uploadb2c" } else { "upload" };
        let standard = if credit_note { "CN" } else { "UBL" };
        let r = self
            .http
            .post(format!("{}/{path}", self.api_url))
            .bearer_auth(access_token)
            .query(&[("standard", standard), ("cif", seller_cui)])
            .header("content-type", "text/plain")
            .body(xml.to_string())
            .send()
            .await
            .map_err(|e| EfacturaError::Unavailable(e.to_string()))?;
        let body = check_status(r).await?.text().await.map_err(|e| EfacturaError::Unavailable(e.to_string()))?;
        if attr(&body, "ExecutionStatus").as_deref() == Some("0") {
            if let Some(id) = attr(&body, "index_incarcare") {
                return Ok(id);
            }
        }
        let errors = attrs(&body, "errorMessage");
        if errors.is_empty() {
            Err(EfacturaError::Unavailable(format!("upload answer not understood: {}", body.chars().take(200).collect::<String>())))
        } else {
            Err(EfacturaError::Refused(errors.join("; ")))
        }
    }

    async fn status(&self, access_token: &str, upload_id: &str) -> Result<MessageState, EfacturaError> {
        let body = self.get(access_token, "stareMesaj", &[("id_incarcare", upload_id)]).await?.text().await.map_err(|e| EfacturaError::Unavailable(e.to_string()))?;
        let download_id = attr(&body, "id_descarcare").unwrap_or_default();
        Ok(match attr(&body, "stare").as_deref() {
            Some("ok") => MessageState::Accepted { download_id },
            Some("nok") => MessageState::Refused { download_id },
            Some("in prelucrare") => MessageState::Processing,
            Some(other) => MessageState::Failed(other.to_string()),
            None => match attrs(&body, "errorMessage").first() {
                Some(e) => MessageState::Failed(e.clone()),
                None => return Err(EfacturaError::Unavailable(format!("status answer not understood: {}", body.chars().take(200).collect::<String>()))),
            },
        })
    }

    async fn download(&self, access_token: &str, download_id: &str) -> Result<Vec<u8>, EfacturaError> {
        let r = self.get(access_token, "descarcare", &[("id", download_id)]).await?;
        let bytes = r.bytes().await.map_err(|e| EfacturaError::Unavailable(e.to_string()))?;
        if !bytes.starts_with(b"PK") {
            let text = String::from_utf8_lossy(&bytes);
            let message = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["eroare"].as_str().map(str::to_string)).unwrap_or_else(|| text.chars().take(200).collect());
            return Err(EfacturaError::Unavailable(format!("no answer to download yet: {message}")));
        }
        Ok(bytes.to_vec())
    }

    fn answer_errors(&self, zip: &[u8]) -> Vec<String> {
        answer_errors(zip)
    }
}

/// The errors ANAF lists in a `nok` answer (`raspunsErori`), from its ZIP.
pub fn answer_errors(zip: &[u8]) -> Vec<String> {
    use std::io::Read;
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(zip)) else { return vec!["the answer is not a ZIP".into()] };
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let Ok(file) = archive.by_index(i) else { continue };
        if file.name().starts_with("semnatura") {
            continue;
        }
        let mut text = String::new();
        if file.take(2 * 1024 * 1024).read_to_string(&mut text).is_ok() && text.contains("raspunsErori") {
            out.extend(attrs(&text, "errorMessage"));
        }
    }
    out
}

/// ANAF's register of VAT payers.
pub struct AnafRegistry {
    http: reqwest::Client,
    url: String,
}

impl AnafRegistry {
    pub fn new(url: &str) -> Result<Self, String> {
        // the form waits for it: an answer in seconds, or "fill it in yourself"
        Ok(Self { http: client(Duration::from_secs(6))?, url: url.into() })
    }
}

#[async_trait]
impl CompanyRegistry for AnafRegistry {
    async fn lookup(&self, cui: &str) -> Result<Option<CompanyInfo>, String> {
        let number: u64 = cui.parse().map_err(|_| "not a CUI".to_string())?;
        let body = serde_json::json!([{"cui": number, "data": Utc::now().format("%Y-%m-%d").to_string()}]);
        let r = self.http.post(&self.url).json(&body).send().await.map_err(|e| format!("the ANAF register is unreachable: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("the ANAF register answered {}", r.status()));
        }
        let v: serde_json::Value = r.json().await.map_err(|e| format!("the ANAF register's answer: {e}"))?;
        if v["cod"].as_i64().is_some_and(|c| c != 200) {
            return Err(format!("the ANAF register: {}", v["message"].as_str().unwrap_or("refused")));
        }
        Ok(v["found"].as_array().and_then(|f| f.first()).map(|f| company(cui, f)))
    }
}

/// A register entry as the shop's company record.
fn company(cui: &str, f: &serde_json::Value) -> CompanyInfo {
    let g = &f["date_generale"];
    let s = &f["adresa_sediu_social"];
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().trim().to_string();
    let county_code = text(&s["scod_JudetAuto"]);
    let county = if county_code.is_empty() { String::new() } else { format!("RO-{county_code}") };
    let county = if RO_COUNTIES.iter().any(|(c, _)| *c == county) { county } else { String::new() };
    let locality = text(&s["sdenumire_Localitate"]);
    // "Mun. Bucureşti Sec. 3": Bucharest's sector is in the locality
    let sector = if county == "RO-B" { locality.rsplit(|c: char| !c.is_ascii_digit()).find(|p| !p.is_empty()).and_then(|d| d.parse::<u8>().ok()).filter(|n| (1..=6).contains(n)) } else { None };
    let street = [text(&s["sdenumire_Strada"]), text(&s["snumar_Strada"]).chars().next().map(|_| format!("nr. {}", text(&s["snumar_Strada"]))).unwrap_or_default(), text(&s["sdetalii_Adresa"])].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(", ");
    let city = if county == "RO-B" { "București".to_string() } else { locality.trim_start_matches("Mun. ").trim_start_matches("Municipiul ").trim_start_matches("Oraş ").trim_start_matches("Oraș ").to_string() };
    CompanyInfo {
        cui: cui.to_string(),
        name: text(&g["denumire"]),
        reg_com: text(&g["nrRegCom"]),
        vat_payer: f["inregistrare_scop_Tva"]["scpTVA"].as_bool().unwrap_or(false),
        address: Address { name: String::new(), street, city, postal_code: text(&s["scod_Postal"]), country: "RO".into(), phone: String::new(), county, sector },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_by_their_attributes() {
        let up = r#"<?xml version="1.0"?><header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202612071200" ExecutionStatus="0" index_incarcare="5001"/>"#;
        assert_eq!(attr(up, "ExecutionStatus").as_deref(), Some("0"));
        assert_eq!(attr(up, "index_incarcare").as_deref(), Some("5001"));
        let errs = r#"<header><Error errorMessage="E: [BR-RO-100] a &quot;b&quot;"/><Error errorMessage="second"/></header>"#;
        assert_eq!(attrs(errs, "errorMessage"), vec!["E: [BR-RO-100] a \"b\"".to_string(), "second".to_string()]);
    }

    #[test]
    fn a_register_entry_in_bucharest_keeps_its_sector() {
        let f = serde_json::json!({
            "date_generale": {"denumire": "Client SRL", "nrRegCom": "J40/1/2001"},
            "inregistrare_scop_Tva": {"scpTVA": true},
            "adresa_sediu_social": {"sdenumire_Strada": "Bd. Unirii", "snumar_Strada": "1", "sdenumire_Localitate": "Mun. Bucureşti Sec. 3", "scod_JudetAuto": "B", "scod_Postal": "030167", "sdetalii_Adresa": ""}
        });
        let c = company("18547290", &f);
        assert_eq!((c.address.county.as_str(), c.address.sector, c.address.city.as_str()), ("RO-B", Some(3), "București"));
        assert_eq!(c.address.street, "Bd. Unirii, nr. 1");
        assert!(c.vat_payer);
        assert_eq!(c.name, "Client SRL");
    }
}
