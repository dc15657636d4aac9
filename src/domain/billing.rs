//! Who an invoice is for and who issues it: a buyer (a person, or a company
//! known by its CUI) and the seller's legal identity (Codul fiscal art. 319).
use serde::{Deserialize, Serialize};

use super::address::Address;
use super::user::FieldError;

/// A Romanian fiscal code (CUI / CIF) without its `RO` prefix, if its check
/// digit is right: 2 to 10 digits, the last one the check digit (weights
/// `753217532` over the others padded left to 9, sum × 10 mod 11, 10 → 0).
pub fn parse_cui(input: &str) -> Option<String> {
    let s: String = input.trim().to_uppercase().chars().filter(|c| !c.is_whitespace()).collect();
    let digits = s.strip_prefix("RO").unwrap_or(&s);
    if !(2..=10).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    let (body, check) = digits.split_at(digits.len() - 1);
    let padded = format!("{body:0>9}");
    let sum: u32 = padded.bytes().zip(b"753217532").map(|(d, w)| (d - b'0') as u32 * (w - b'0') as u32).sum();
    let expected = (sum * 10 % 11) % 10;
    (check.as_bytes()[0] - b'0' == expected as u8).then(|| digits.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum BuyerKind {
    /// A private person (the default): identified on the invoice without a CNP.
    #[default]
    Person,
    /// A company, by its CUI.
    Company,
}

/// Who an order is invoiced to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Billing {
    #[serde(rename = "type", default)]
    pub kind: BuyerKind,
    /// A person's name (the shipping recipient's when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", schema(max_length = 100))]
    pub name: String,
    /// A company's registered name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", schema(max_length = 200))]
    pub company_name: String,
    /// A company's fiscal code, with or without `RO` (checked by its check digit; stored without it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", schema(max_length = 12, example = "RO14399840"))]
    pub cui: String,
    /// The trade register number (`J12/345/2020`), optional.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", schema(max_length = 40))]
    pub reg_com: String,
    /// Registered for VAT (its invoices name it `RO` + CUI). Taken from
    /// ANAF's register when the CUI is looked up; else from an `RO` prefix.
    #[serde(default)]
    pub vat_payer: bool,
    /// The billing address; the shipping address when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
}

impl Billing {
    /// Checks the buyer, all problems at once (fields under `billing.`).
    pub fn validate(&self) -> Result<Billing, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut b = self.clone();
        b.name = b.name.trim().to_string();
        if b.name.chars().count() > 100 {
            errors.push(FieldError::coded("field-max-chars", "billing.name", &[("max", "100")]));
        }
        b.reg_com = b.reg_com.trim().to_string();
        if b.reg_com.chars().count() > 40 || b.reg_com.chars().any(char::is_control) {
            errors.push(FieldError::coded("field-max-chars", "billing.reg_com", &[("max", "40")]));
        }
        match b.kind {
            BuyerKind::Person => {
                b.company_name.clear();
                b.cui.clear();
                b.reg_com.clear();
                b.vat_payer = false;
            }
            BuyerKind::Company => {
                b.company_name = b.company_name.trim().to_string();
                if b.company_name.is_empty() {
                    errors.push(FieldError::coded("field-company-name", "billing.company_name", &[]));
                } else if b.company_name.chars().count() > 200 {
                    errors.push(FieldError::coded("field-max-chars", "billing.company_name", &[("max", "200")]));
                }
                let prefixed = self.cui.trim().to_uppercase().starts_with("RO");
                match parse_cui(&self.cui) {
                    Some(c) => {
                        b.cui = c;
                        b.vat_payer = b.vat_payer || prefixed;
                    }
                    None if self.cui.trim().is_empty() => errors.push(FieldError::coded("field-cui-required", "billing.cui", &[])),
                    None => errors.push(FieldError::coded("field-cui-invalid", "billing.cui", &[])),
                }
            }
        }
        if let Some(a) = &self.address {
            match a.validate_billing() {
                Ok(a) => b.address = Some(a),
                Err(es) => errors.extend(es.into_iter().map(|e| {
                    let field = format!("billing.address.{}", e.field);
                    e.on(&field)
                })),
            }
        }
        if errors.is_empty() {
            Ok(b)
        } else {
            Err(errors)
        }
    }

    /// The buyer's fiscal identifier on an invoice: `RO` + CUI for a VAT
    /// payer, the CUI for another company, 13 zeros for a person without a CNP.
    pub fn tax_id(&self) -> String {
        match (self.kind, self.vat_payer) {
            (BuyerKind::Company, true) => format!("RO{}", self.cui),
            (BuyerKind::Company, false) => self.cui.clone(),
            (BuyerKind::Person, _) => "0000000000000".into(),
        }
    }
}

/// What ANAF's register of VAT payers says about a company.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CompanyInfo {
    pub cui: String,
    pub name: String,
    #[serde(default)]
    pub reg_com: String,
    pub vat_payer: bool,
    /// The registered office, as far as the register gives it.
    pub address: Address,
}

/// The shop's legal identity, printed on every invoice (Codul fiscal art. 319).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Seller {
    pub name: String,
    /// Without `RO`.
    pub cui: String,
    pub reg_com: String,
    pub street: String,
    pub city: String,
    /// ISO 3166-2:RO (`RO-CJ`).
    pub county: String,
    /// In Bucharest, 1–6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<u8>,
    pub postal_code: String,
    pub iban: String,
    pub bank: String,
    pub vat_payer: bool,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    /// The share capital, when the company states it (`200 lei`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub capital: String,
}

impl Seller {
    /// Checks the identity an admin enters, all problems at once.
    pub fn validate(&self) -> Result<Seller, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut s = self.clone();
        let mut text = |field: &str, v: &mut String, max: usize, required: bool| {
            *v = v.trim().to_string();
            if required && v.is_empty() {
                errors.push(FieldError::coded("field-required", field, &[]));
            } else if v.chars().count() > max || v.chars().any(char::is_control) {
                errors.push(FieldError::coded("field-max-chars", field, &[("max", &max.to_string())]));
            }
        };
        text("name", &mut s.name, 200, true);
        text("reg_com", &mut s.reg_com, 40, false);
        text("street", &mut s.street, 200, true);
        text("city", &mut s.city, 100, true);
        text("postal_code", &mut s.postal_code, 10, false);
        text("bank", &mut s.bank, 100, false);
        text("email", &mut s.email, 254, false);
        text("phone", &mut s.phone, 40, false);
        text("capital", &mut s.capital, 60, false);
        match parse_cui(&self.cui) {
            Some(c) => s.cui = c,
            None => errors.push(FieldError::coded("field-cui-invalid", "cui", &[])),
        }
        match super::address::ro_county(&self.county) {
            Some(c) => s.county = c.to_string(),
            None => errors.push(FieldError::coded("field-enter-county", "county", &[])),
        }
        s.sector = if s.county == super::address::BUCHAREST {
            match self.sector {
                Some(n @ 1..=6) => Some(n),
                _ => {
                    errors.push(FieldError::coded("field-sector", "sector", &[]));
                    None
                }
            }
        } else {
            None
        };
        s.iban = self.iban.split_whitespace().collect::<String>().to_uppercase();
        if !s.iban.is_empty() && !valid_iban(&s.iban) {
            errors.push(FieldError::coded("field-iban-invalid", "iban", &[]));
        }
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }

    /// The seller's fiscal identifier: `RO` + CUI when registered for VAT.
    pub fn tax_id(&self) -> String {
        if self.vat_payer { format!("RO{}", self.cui) } else { self.cui.clone() }
    }

    /// The demo shop's identity (a shop that has not set its own yet; the panel says so).
    pub fn demo() -> Seller {
        Seller {
            name: "Vitrina Demo SRL".into(),
            cui: "14399840".into(),
            reg_com: "J12/1234/2020".into(),
            street: "Strada Memorandumului 1".into(),
            city: "Cluj-Napoca".into(),
            county: "RO-CJ".into(),
            sector: None,
            postal_code: "400114".into(),
            iban: "RO49AAAA1B31007593840000".into(),
            bank: "Banca Transilvania".into(),
            vat_payer: true,
            email: "facturi@vitrina.localhost".into(),
            phone: String::new(),
            capital: String::new(),
        }
    }

    /// Whether an invoice can be issued (the identity is filled in).
    pub fn is_complete(&self) -> bool {
        !self.name.is_empty() && parse_cui(&self.cui).is_some() && !self.street.is_empty() && !self.city.is_empty() && super::address::ro_county(&self.county).is_some()
    }
}

/// An IBAN's check digits (ISO 13616, mod 97).
pub fn valid_iban(iban: &str) -> bool {
    let s: String = iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    if s.len() < 15 || s.len() > 34 || !s.chars().all(|c| c.is_ascii_alphanumeric()) || !s[..2].chars().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let rearranged = format!("{}{}", &s[4..], &s[..4]);
    let mut rem: u64 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap_or(0) as u64;
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fiscal_codes_are_checked_by_their_check_digit() {
        // ANAF's own (14399840), with and without RO, spaces allowed
        assert_eq!(parse_cui("14399840").as_deref(), Some("14399840"));
        assert_eq!(parse_cui(" ro 14399840 ").as_deref(), Some("14399840"));
        assert_eq!(parse_cui("RO14399841"), None, "a wrong check digit");
        assert_eq!(parse_cui("18547290").as_deref(), Some("18547290"));
        assert_eq!(parse_cui("12"), None);
        assert_eq!(parse_cui("RO"), None);
        assert_eq!(parse_cui("1234567890123"), None, "too long");
        assert_eq!(parse_cui("14399a40"), None);
    }

    #[test]
    fn a_company_buyer_needs_a_name_and_a_valid_cui_and_a_person_needs_neither() {
        let company = Billing { kind: BuyerKind::Company, company_name: " Vitrina Test SRL ".into(), cui: "RO14399840".into(), ..Default::default() };
        let ok = company.validate().unwrap();
        assert_eq!((ok.company_name.as_str(), ok.cui.as_str(), ok.vat_payer), ("Vitrina Test SRL", "14399840", true), "RO means VAT-registered");
        assert_eq!(ok.tax_id(), "RO14399840");
        let plain = Billing { cui: "14399840".into(), ..company.clone() }.validate().unwrap();
        assert_eq!((plain.vat_payer, plain.tax_id().as_str()), (false, "14399840"));
        let fields = |b: Billing| b.validate().unwrap_err().into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(Billing { kind: BuyerKind::Company, ..Default::default() }), ["billing.company_name", "billing.cui"]);
        assert_eq!(fields(Billing { cui: "14399841".into(), ..company }), ["billing.cui"]);
        let person = Billing { cui: "garbage".into(), ..Default::default() }.validate().unwrap();
        assert_eq!((person.cui.as_str(), person.tax_id().as_str()), ("", "0000000000000"), "a person without a CNP");
    }

    #[test]
    fn ibans_are_checked() {
        assert!(valid_iban("RO49 AAAA 1B31 0075 9384 0000"));
        assert!(!valid_iban("RO49 AAAA 1B31 0075 9384 0001"));
        assert!(!valid_iban("XX"));
    }
}
