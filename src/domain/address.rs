//! Postal addresses as the shop takes them: for the courier (a recipient and a
//! phone) and for an invoice (a registered office), with Romania's counties
//! (ISO 3166-2:RO) and Bucharest's sectors.
use serde::{Deserialize, Serialize};

use super::user::FieldError;


/// ISO 3166-1 alpha-2 codes we ship to.
pub const COUNTRIES: &[(&str, &str)] = &[
    ("AT", "Austria"), ("BE", "Belgium"), ("BG", "Bulgaria"), ("HR", "Croatia"), ("CY", "Cyprus"), ("CZ", "Czechia"),
    ("DK", "Denmark"), ("EE", "Estonia"), ("FI", "Finland"), ("FR", "France"), ("DE", "Germany"), ("GR", "Greece"),
    ("HU", "Hungary"), ("IE", "Ireland"), ("IT", "Italy"), ("LV", "Latvia"), ("LT", "Lithuania"), ("LU", "Luxembourg"),
    ("MT", "Malta"), ("MD", "Moldova"), ("NL", "Netherlands"), ("NO", "Norway"), ("PL", "Poland"), ("PT", "Portugal"),
    ("RO", "Romania"), ("SK", "Slovakia"), ("SI", "Slovenia"), ("ES", "Spain"), ("SE", "Sweden"), ("CH", "Switzerland"),
    ("GB", "United Kingdom"), ("US", "United States"),
];

/// Romania's counties and Bucharest: ISO 3166-2:RO codes and names.
pub const RO_COUNTIES: [(&str, &str); 42] = [
    ("RO-AB", "Alba"), ("RO-AR", "Arad"), ("RO-AG", "Argeș"), ("RO-BC", "Bacău"), ("RO-BH", "Bihor"), ("RO-BN", "Bistrița-Năsăud"),
    ("RO-BT", "Botoșani"), ("RO-BR", "Brăila"), ("RO-BV", "Brașov"), ("RO-B", "București"), ("RO-BZ", "Buzău"), ("RO-CL", "Călărași"),
    ("RO-CS", "Caraș-Severin"), ("RO-CJ", "Cluj"), ("RO-CT", "Constanța"), ("RO-CV", "Covasna"), ("RO-DB", "Dâmbovița"), ("RO-DJ", "Dolj"),
    ("RO-GL", "Galați"), ("RO-GR", "Giurgiu"), ("RO-GJ", "Gorj"), ("RO-HR", "Harghita"), ("RO-HD", "Hunedoara"), ("RO-IL", "Ialomița"),
    ("RO-IS", "Iași"), ("RO-IF", "Ilfov"), ("RO-MM", "Maramureș"), ("RO-MH", "Mehedinți"), ("RO-MS", "Mureș"), ("RO-NT", "Neamț"),
    ("RO-OT", "Olt"), ("RO-PH", "Prahova"), ("RO-SJ", "Sălaj"), ("RO-SM", "Satu Mare"), ("RO-SB", "Sibiu"), ("RO-SV", "Suceava"),
    ("RO-TR", "Teleorman"), ("RO-TM", "Timiș"), ("RO-TL", "Tulcea"), ("RO-VL", "Vâlcea"), ("RO-VS", "Vaslui"), ("RO-VN", "Vrancea"),
];

/// Bucharest's code: its addresses name a sector (1–6).
pub const BUCHAREST: &str = "RO-B";

/// The ISO 3166-2:RO code a person typed (`cj`, `RO-CJ`, ` ro-b `), if it is one.
pub fn ro_county(input: &str) -> Option<&'static str> {
    let up = input.trim().to_uppercase();
    let code = if up.starts_with("RO-") { up } else { format!("RO-{up}") };
    RO_COUNTIES.iter().map(|(c, _)| *c).find(|c| *c == code)
}

/// A county's name by its code.
pub fn county_name(code: &str) -> Option<&'static str> {
    RO_COUNTIES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Address {
    pub name: String,
    pub street: String,
    pub city: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `RO`.
    pub country: String,
    pub phone: String,
    /// In Romania the county, as its ISO 3166-2:RO code (`RO-CJ`; `RO-B` for
    /// Bucharest): required there, as invoices name it. Elsewhere a region, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[cfg_attr(feature = "ssr", schema(example = "RO-CJ"))]
    pub county: String,
    /// In Bucharest (`RO-B`) the sector, 1–6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(minimum = 1, maximum = 6))]
    pub sector: Option<u8>,
}

impl Address {
    /// Trims and checks every field; all problems at once, each by field.
    pub fn validate(&self) -> Result<Address, Vec<FieldError>> {
        self.checked(true)
    }

    /// A billing address: where the buyer is registered, without a recipient or
    /// a phone for the courier (both optional).
    pub fn validate_billing(&self) -> Result<Address, Vec<FieldError>> {
        self.checked(false)
    }

    fn checked(&self, for_courier: bool) -> Result<Address, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut text = |field: &str, v: &str, max: usize, missing: &str| -> String {
            let t = v.trim();
            if t.is_empty() {
                errors.push(FieldError::coded(missing, field, &[]));
            } else if t.chars().count() > max || t.chars().any(char::is_control) {
                errors.push(FieldError::coded("field-max-chars", field, &[("max", &max.to_string())]));
            }
            t.to_string()
        };
        let name = if for_courier || !self.name.trim().is_empty() { text("name", &self.name, 100, "field-enter-recipient") } else { String::new() };
        let street = text("street", &self.street, 200, "field-enter-street");
        let city = text("city", &self.city, 100, "field-enter-city");
        let postal_code = self.postal_code.trim().to_uppercase();
        if postal_code.is_empty() {
            // a registered office may be known without one (ANAF's register)
            if for_courier {
                errors.push(FieldError::coded("field-enter-postal-code", "postal_code", &[]));
            }
        } else if postal_code.len() > 10 || !postal_code.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
            errors.push(FieldError::coded("field-postal-code-invalid", "postal_code", &[]));
        }
        let country = self.country.trim().to_uppercase();
        if !COUNTRIES.iter().any(|(c, _)| *c == country) {
            errors.push(FieldError::coded("field-country-invalid", "country", &[]));
        }
        let phone = self.phone.trim().to_string();
        let digits = phone.chars().filter(|c| c.is_ascii_digit()).count();
        if phone.is_empty() {
            if for_courier {
                errors.push(FieldError::coded("field-enter-phone", "phone", &[]));
            }
        } else if !(6..=15).contains(&digits) || !phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c)) {
            errors.push(FieldError::coded("field-phone-invalid", "phone", &[]));
        }
        let (county, sector) = if country == "RO" {
            // a Romanian address names its county (and in Bucharest its sector): invoices need them
            match ro_county(&self.county) {
                None if self.county.trim().is_empty() => {
                    errors.push(FieldError::coded("field-enter-county", "county", &[]));
                    (String::new(), None)
                }
                None => {
                    errors.push(FieldError::coded("field-county-invalid", "county", &[]));
                    (String::new(), None)
                }
                Some(BUCHAREST) => match self.sector {
                    Some(s @ 1..=6) => (BUCHAREST.to_string(), Some(s)),
                    _ => {
                        errors.push(FieldError::coded("field-sector", "sector", &[]));
                        (BUCHAREST.to_string(), None)
                    }
                },
                Some(code) => (code.to_string(), None),
            }
        } else {
            let region = self.county.trim().to_string();
            if region.chars().count() > 100 || region.chars().any(char::is_control) {
                errors.push(FieldError::coded("field-max-chars", "county", &[("max", "100")]));
            }
            (region, None)
        };
        if errors.is_empty() {
            Ok(Address { name, street, city, postal_code, country, phone, county, sector })
        } else {
            Err(errors)
        }
    }
}

