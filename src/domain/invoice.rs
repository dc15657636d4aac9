//! Fiscal documents: the invoice of an order and the credit notes of its
//! refunds and returns, as Romania requires them (Codul fiscal art. 319),
//! and their UBL 2.1 form for e-Factura (EN 16931 + CIUS-RO).
//!
//! A document is built once from the order as it was sold and the seller's
//! identity at that moment, numbered from one gapless series, and then never
//! changes (only its e-Factura state does; a document ANAF refused may be
//! regenerated under the same number, its earlier version kept).
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::billing::{Billing, BuyerKind, Seller};
use super::order::{county_name, Address, Order, BUCHAREST};
use super::pricing::{net_of, vat_parts, VatPart};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DocKind {
    /// An invoice (UBL `Invoice`, type 380).
    Invoice,
    /// A credit note correcting an invoice (UBL `CreditNote`, type 381).
    CreditNote,
}

impl DocKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DocKind::Invoice => "invoice",
            DocKind::CreditNote => "credit_note",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [DocKind::Invoice, DocKind::CreditNote].into_iter().find(|k| k.as_str() == s)
    }
}

/// Where a document stands at ANAF's e-Factura.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum EfacturaState {
    /// Not sent yet (e-Factura is not configured, or the upload is queued).
    #[default]
    Waiting,
    /// Uploaded; ANAF is processing it (`in prelucrare`).
    Processing,
    /// ANAF accepted it (`ok`); its signed answer is kept with it.
    Accepted,
    /// ANAF refused it (`nok`, or XML with errors): `errors` say why.
    Rejected,
}

impl EfacturaState {
    pub const ALL: [EfacturaState; 4] = [EfacturaState::Waiting, EfacturaState::Processing, EfacturaState::Accepted, EfacturaState::Rejected];
    pub fn as_str(&self) -> &'static str {
        match self {
            EfacturaState::Waiting => "waiting",
            EfacturaState::Processing => "processing",
            EfacturaState::Accepted => "accepted",
            EfacturaState::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A document's e-Factura record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Efactura {
    pub state: EfacturaState,
    /// ANAF's `index_incarcare` of the last upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// ANAF's `id_descarcare` of its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_id: Option<String>,
    /// Why ANAF refused it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// Where the seller identity in use comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum SellerSource {
    /// Set in the panel.
    Panel,
    /// `VITRINA_SELLER_*`.
    Config,
    /// Nobody set one: the demo shop's (invoices must not go out so).
    Demo,
}

/// What the panel shows about e-Factura.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EfacturaStatus {
    /// An OAuth client is set (`VITRINA_EFACTURA_CLIENT_ID` / `_SECRET`).
    pub client: bool,
    /// A refresh token is in (pasted, or from the environment).
    pub token: bool,
    /// `test` or `prod`.
    pub environment: String,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// The refresh token expires within 30 days (or was refused): paste a new one.
    pub token_warning: bool,
    /// The last refusal of the token, if any.
    pub token_error: Option<String>,
    /// Documents not accepted 3 working days after issue.
    pub late: u64,
    /// Documents not yet accepted.
    pub not_accepted: u64,
}

impl EfacturaStatus {
    pub fn configured(&self) -> bool {
        self.client && self.token
    }
}

/// One line of a document: VAT-inclusive amounts as sold, and the taxable part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DocLine {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sku: String,
    pub quantity: i64,
    /// What the line comes to with VAT, after its discounts.
    pub gross: i64,
    /// Its taxable part.
    pub net: i64,
    /// Percent.
    pub vat_rate: i64,
    /// Why a 0 % line is exempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exemption: Option<String>,
}

impl DocLine {
    fn new(name: String, sku: String, quantity: i64, gross: i64, vat_rate: i64, exemption: Option<String>) -> Self {
        DocLine { name, sku, quantity, gross, net: net_of(gross, vat_rate), vat_rate, exemption }
    }
    /// The taxable price of one unit, in minor units with two more decimals (bani × 100).
    pub fn unit_net_x100(&self) -> i64 {
        if self.quantity == 0 { 0 } else { (self.net * 100 + self.quantity / 2) / self.quantity }
    }
}

/// Whom a document is issued to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Party {
    pub name: String,
    /// `RO` + CUI for a VAT payer, the CUI for another company, 13 zeros for a person.
    pub tax_id: String,
    pub company: bool,
    pub vat_payer: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reg_com: String,
    pub address: Address,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
}

impl Party {
    /// The buyer of an order: its billing (a company by CUI), else the shipping recipient as a person.
    pub fn buyer(order: &Order) -> Party {
        let billing = order.billing.clone().unwrap_or_default();
        let address = billing.address.clone().unwrap_or_else(|| order.shipping_address.clone());
        let name = match billing.kind {
            BuyerKind::Company => billing.company_name.clone(),
            BuyerKind::Person if !billing.name.is_empty() => billing.name.clone(),
            BuyerKind::Person => order.shipping_address.name.clone(),
        };
        Party { name, tax_id: Billing::tax_id(&billing), company: billing.kind == BuyerKind::Company, vat_payer: billing.vat_payer, reg_com: billing.reg_com.clone(), address, email: order.guest_email.clone().unwrap_or_default() }
    }
}

/// The invoice a credit note corrects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InvoiceRef {
    pub number: String,
    pub issued_on: NaiveDate,
}

/// A fiscal document as issued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Document {
    pub id: String,
    pub kind: DocKind,
    pub series: String,
    pub number: u64,
    pub order_id: String,
    pub order_number: String,
    /// What it is for within its order: `invoice`, a refund's id (`rf_2`): one document each.
    pub reference: String,
    pub issued_at: DateTime<Utc>,
    pub seller: Seller,
    pub buyer: Party,
    pub lines: Vec<DocLine>,
    /// One part per VAT rate.
    pub vat: Vec<VatPart>,
    pub net_cents: i64,
    pub vat_cents: i64,
    /// With VAT: the order's total for an invoice, the refunded amount for a credit note.
    pub total_cents: i64,
    /// Already paid (card, bank transfer): nothing is due.
    pub prepaid_cents: i64,
    pub currency: String,
    /// `cod`, `bank_transfer` or `card`.
    pub payment_method: String,
    /// A credit note's invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<InvoiceRef>,
    /// A credit note's reason (the refund's, the return's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default)]
    pub efactura: Efactura,
    /// Regenerations after ANAF refused it (0: as first issued).
    #[serde(default)]
    pub version: u32,
}

impl Document {
    /// `VTR000042`: the series and the number (the document's ID for ANAF).
    pub fn full_number(&self) -> String {
        format!("{}{:06}", self.series, self.number)
    }

    pub fn issued_on(&self) -> NaiveDate {
        self.issued_at.date_naive()
    }

    /// Amount still to pay.
    pub fn payable_cents(&self) -> i64 {
        self.total_cents - self.prepaid_cents
    }

    fn from_lines(kind: DocKind, order: &Order, seller: &Seller, lines: Vec<DocLine>, at: DateTime<Utc>) -> Document {
        let vat = vat_parts(&lines.iter().map(|l| (l.gross, l.vat_rate)).collect::<Vec<_>>());
        // every line's net is rounded on its own: the parts add up to them exactly
        let net_cents: i64 = lines.iter().map(|l| l.net).sum();
        let total_cents: i64 = lines.iter().map(|l| l.gross).sum();
        Document {
            id: String::new(),
            kind,
            series: String::new(),
            number: 0,
            order_id: order.id.clone(),
            order_number: order.number.clone(),
            reference: String::new(),
            issued_at: at,
            seller: seller.clone(),
            buyer: Party::buyer(order),
            vat_cents: total_cents - net_cents,
            net_cents,
            total_cents,
            prepaid_cents: 0,
            currency: order.currency.clone(),
            payment_method: order.payment.method.as_str().into(),
            invoice: None,
            reason: String::new(),
            efactura: Efactura::default(),
            version: 0,
            lines,
            vat,
        }
    }

    /// The invoice of an order: its lines after their discounts, each at its
    /// VAT rate, and shipping at the standard rate. Its totals are the order's.
    pub fn invoice(order: &Order, seller: &Seller, exemptions: &dyn Fn(&str) -> Option<String>, at: DateTime<Utc>) -> Document {
        let mut lines: Vec<DocLine> = order
            .lines
            .iter()
            .map(|l| {
                let options: Vec<String> = l.options.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                let name = if options.is_empty() { l.name.clone() } else { format!("{} ({})", l.name, options.join(", ")) };
                let rate = order.line_rate(l);
                DocLine::new(name, l.sku.clone(), l.quantity, l.line_total.amount - l.discount_cents, rate, (rate == 0).then(|| exemptions(&l.product_id)).flatten())
            })
            .collect();
        let shipping = order.shipping_charged();
        if shipping > 0 {
            lines.push(DocLine::new(format!("Transport ({})", shipping_name(order)), String::new(), 1, shipping, order.vat_percent, None));
        }
        let mut doc = Self::from_lines(DocKind::Invoice, order, seller, lines, at);
        doc.reference = "invoice".into();
        doc.prepaid_cents = if order.payment.method.paid_upfront() { doc.total_cents } else { 0 };
        doc
    }

    /// A credit note for a refund of `amount` against `invoice`: the amount
    /// shared over the invoice's VAT rates in proportion to what each came to
    /// (largest remainders, so the lines add up to the amount exactly).
    pub fn credit_for_amount(order: &Order, invoice: &Document, amount: i64, reason: &str, at: DateTime<Utc>) -> Document {
        let amount = amount.clamp(0, invoice.total_cents);
        let total = invoice.total_cents.max(1);
        let mut shares: Vec<(i64, i64, i64)> = invoice.vat.iter().map(|p| {
            let exact = amount as i128 * p.gross as i128;
            (p.rate, (exact / total as i128) as i64, (exact % total as i128) as i64)
        }).collect();
        let mut left = amount - shares.iter().map(|s| s.1).sum::<i64>();
        let mut order_by_remainder: Vec<usize> = (0..shares.len()).collect();
        order_by_remainder.sort_by(|a, b| shares[*b].2.cmp(&shares[*a].2));
        for i in order_by_remainder {
            if left == 0 {
                break;
            }
            shares[i].1 += 1;
            left -= 1;
        }
        let exemption = |rate: i64| invoice.lines.iter().find(|l| l.vat_rate == rate).and_then(|l| l.exemption.clone());
        let lines = shares
            .into_iter()
            .filter(|(_, gross, _)| *gross > 0)
            .map(|(rate, gross, _)| DocLine::new(format!("Restituire comanda {} (cota TVA {rate} %)", order.number), String::new(), 1, gross, rate, exemption(rate)))
            .collect();
        Self::credit(order, invoice, lines, reason, at)
    }

    /// A credit note for returned units: each `(sku, quantity)` at what the invoice charged per unit.
    pub fn credit_for_units(order: &Order, invoice: &Document, units: &[(String, i64)], reason: &str, at: DateTime<Utc>) -> Document {
        let lines = units
            .iter()
            .filter_map(|(sku, qty)| {
                let l = invoice.lines.iter().find(|l| !l.sku.is_empty() && l.sku == *sku && l.quantity > 0)?;
                let qty = (*qty).min(l.quantity);
                (qty > 0).then(|| DocLine::new(format!("Retur: {}", l.name), l.sku.clone(), qty, (l.gross as i128 * qty as i128 / l.quantity as i128) as i64, l.vat_rate, l.exemption.clone()))
            })
            .collect();
        Self::credit(order, invoice, lines, reason, at)
    }

    fn credit(order: &Order, invoice: &Document, lines: Vec<DocLine>, reason: &str, at: DateTime<Utc>) -> Document {
        let mut doc = Self::from_lines(DocKind::CreditNote, order, &invoice.seller, lines, at);
        doc.buyer = invoice.buyer.clone();
        doc.invoice = Some(InvoiceRef { number: invoice.full_number(), issued_on: invoice.issued_on() });
        doc.reason = reason.chars().take(300).collect();
        // the money goes back: nothing is left to pay on a credit note
        doc.prepaid_cents = doc.total_cents;
        doc
    }
}

fn shipping_name(order: &Order) -> &'static str {
    match order.shipping_method {
        super::order::ShippingMethod::Standard => "livrare standard",
        super::order::ShippingMethod::Express => "livrare express",
    }
}

/// CIUS-RO's customization identifier (BR-RO-001).
pub const CUSTOMIZATION_ID: &str = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1";

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Minor units as a decimal amount (`1234` → `12.34`).
fn amount(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

/// The VAT category of a rate: `S` standard-rated (any positive rate), `E` exempt, `O` outside VAT (a seller not registered).
fn category(rate: i64, seller_vat_payer: bool) -> &'static str {
    match (seller_vat_payer, rate) {
        (false, _) => "O",
        (true, 0) => "E",
        (true, _) => "S",
    }
}

/// An address as CIUS-RO wants it: the county as its ISO 3166-2:RO code,
/// and in Bucharest the city written `SECTORn` (BR-RO-100/101/110/111).
fn postal_address(a: &Address) -> String {
    let city = match (a.county.as_str(), a.sector) {
        (BUCHAREST, Some(s)) => format!("SECTOR{s}"),
        _ => a.city.clone(),
    };
    let mut x = String::from("<cac:PostalAddress>");
    x += &format!("<cbc:StreetName>{}</cbc:StreetName>", esc(if a.street.is_empty() { "-" } else { &a.street }));
    x += &format!("<cbc:CityName>{}</cbc:CityName>", esc(if city.is_empty() { "-" } else { &city }));
    if !a.postal_code.is_empty() {
        x += &format!("<cbc:PostalZone>{}</cbc:PostalZone>", esc(&a.postal_code));
    }
    if !a.county.is_empty() {
        x += &format!("<cbc:CountrySubentity>{}</cbc:CountrySubentity>", esc(&a.county));
    }
    x += &format!("<cac:Country><cbc:IdentificationCode>{}</cbc:IdentificationCode></cac:Country></cac:PostalAddress>", esc(if a.country.is_empty() { "RO" } else { &a.country }));
    x
}

fn seller_address(s: &Seller) -> Address {
    Address { name: s.name.clone(), street: s.street.clone(), city: s.city.clone(), postal_code: s.postal_code.clone(), country: "RO".into(), phone: s.phone.clone(), county: s.county.clone(), sector: s.sector }
}

/// The payment means code (UNCL 4461) of an order's way to pay.
fn payment_means(method: &str) -> &'static str {
    match method {
        "bank_transfer" => "42",
        "card" => "48",
        _ => "10",
    }
}

/// The document as UBL 2.1 (an `Invoice` or a `CreditNote`) for e-Factura.
pub fn ubl(doc: &Document) -> String {
    let (root, line_tag, qty_tag, ns) = match doc.kind {
        DocKind::Invoice => ("Invoice", "InvoiceLine", "InvoicedQuantity", "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"),
        DocKind::CreditNote => ("CreditNote", "CreditNoteLine", "CreditedQuantity", "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"),
    };
    let cur = esc(&doc.currency);
    let money = |cents: i64| format!("currencyID=\"{cur}\">{}", amount(cents));
    let vat_payer = doc.seller.vat_payer;
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x += &format!("<{root} xmlns=\"{ns}\" xmlns:cac=\"urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2\" xmlns:cbc=\"urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2\">\n");
    x += &format!("<cbc:CustomizationID>{CUSTOMIZATION_ID}</cbc:CustomizationID>\n");
    x += &format!("<cbc:ID>{}</cbc:ID>\n", esc(&doc.full_number()));
    x += &format!("<cbc:IssueDate>{}</cbc:IssueDate>\n", doc.issued_on().format("%Y-%m-%d"));
    if doc.kind == DocKind::Invoice {
        x += &format!("<cbc:DueDate>{}</cbc:DueDate>\n", doc.issued_on().format("%Y-%m-%d"));
        x += "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>\n";
    } else {
        x += "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>\n";
    }
    x += &format!("<cbc:Note>Comanda {}</cbc:Note>\n", esc(&doc.order_number));
    if !doc.reason.is_empty() {
        x += &format!("<cbc:Note>{}</cbc:Note>\n", esc(&doc.reason));
    }
    x += &format!("<cbc:DocumentCurrencyCode>{cur}</cbc:DocumentCurrencyCode>\n");
    x += &format!("<cac:OrderReference><cbc:ID>{}</cbc:ID></cac:OrderReference>\n", esc(&doc.order_number));
    if let Some(inv) = &doc.invoice {
        x += &format!("<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>{}</cbc:ID><cbc:IssueDate>{}</cbc:IssueDate></cac:InvoiceDocumentReference></cac:BillingReference>\n", esc(&inv.number), inv.issued_on.format("%Y-%m-%d"));
    }
    // the seller
    let s = &doc.seller;
    x += "<cac:AccountingSupplierParty><cac:Party>";
    x += &postal_address(&seller_address(s));
    if vat_payer {
        x += &format!("<cac:PartyTaxScheme><cbc:CompanyID>{}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>", esc(&s.tax_id()));
    }
    x += &format!("<cac:PartyLegalEntity><cbc:RegistrationName>{}</cbc:RegistrationName><cbc:CompanyID>{}</cbc:CompanyID>", esc(&s.name), esc(&s.cui));
    if !s.reg_com.is_empty() || !s.capital.is_empty() {
        let legal: Vec<&str> = [s.reg_com.as_str(), s.capital.as_str()].into_iter().filter(|t| !t.is_empty()).collect();
        x += &format!("<cbc:CompanyLegalForm>{}</cbc:CompanyLegalForm>", esc(&legal.join(", ")));
    }
    x += "</cac:PartyLegalEntity>";
    if !s.email.is_empty() || !s.phone.is_empty() {
        x += "<cac:Contact>";
        if !s.phone.is_empty() {
            x += &format!("<cbc:Telephone>{}</cbc:Telephone>", esc(&s.phone));
        }
        if !s.email.is_empty() {
            x += &format!("<cbc:ElectronicMail>{}</cbc:ElectronicMail>", esc(&s.email));
        }
        x += "</cac:Contact>";
    }
    x += "</cac:Party></cac:AccountingSupplierParty>\n";
    // the buyer
    let b = &doc.buyer;
    x += "<cac:AccountingCustomerParty><cac:Party>";
    if !b.company {
        // a person without a CNP (CIUS-RO: 13 zeros)
        x += &format!("<cac:PartyIdentification><cbc:ID>{}</cbc:ID></cac:PartyIdentification>", esc(&b.tax_id));
    }
    x += &postal_address(&b.address);
    if b.company && b.vat_payer {
        x += &format!("<cac:PartyTaxScheme><cbc:CompanyID>{}</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>", esc(&b.tax_id));
    }
    x += &format!("<cac:PartyLegalEntity><cbc:RegistrationName>{}</cbc:RegistrationName>", esc(&b.name));
    if b.company {
        x += &format!("<cbc:CompanyID>{}</cbc:CompanyID>", esc(b.tax_id.trim_start_matches("RO")));
    } else {
        x += &format!("<cbc:CompanyID>{}</cbc:CompanyID>", esc(&b.tax_id));
    }
    x += "</cac:PartyLegalEntity>";
    if !b.email.is_empty() {
        x += &format!("<cac:Contact><cbc:ElectronicMail>{}</cbc:ElectronicMail></cac:Contact>", esc(&b.email));
    }
    x += "</cac:Party></cac:AccountingCustomerParty>\n";
    // how it is paid
    x += &format!("<cac:PaymentMeans><cbc:PaymentMeansCode>{}</cbc:PaymentMeansCode>", payment_means(&doc.payment_method));
    if doc.payment_method == "bank_transfer" && !s.iban.is_empty() {
        x += &format!("<cac:PayeeFinancialAccount><cbc:ID>{}</cbc:ID>", esc(&s.iban));
        if !s.bank.is_empty() {
            x += &format!("<cbc:Name>{}</cbc:Name>", esc(&s.bank));
        }
        x += "</cac:PayeeFinancialAccount>";
    }
    x += "</cac:PaymentMeans>\n";
    x += &format!("<cac:PaymentTerms><cbc:Note>{}</cbc:Note></cac:PaymentTerms>\n", esc(&payment_terms(doc)));
    // the VAT, per rate
    x += &format!("<cac:TaxTotal><cbc:TaxAmount {}</cbc:TaxAmount>", money(doc.vat_cents));
    for p in &doc.vat {
        let cat = category(p.rate, vat_payer);
        x += &format!("<cac:TaxSubtotal><cbc:TaxableAmount {}</cbc:TaxableAmount><cbc:TaxAmount {}</cbc:TaxAmount><cac:TaxCategory><cbc:ID>{cat}</cbc:ID>", money(p.net), money(p.vat));
        if cat != "O" {
            x += &format!("<cbc:Percent>{}</cbc:Percent>", p.rate);
        }
        if cat == "E" {
            let reason = doc.lines.iter().find(|l| l.vat_rate == p.rate).and_then(|l| l.exemption.clone()).unwrap_or_else(|| "Scutit de TVA".into());
            x += &format!("<cbc:TaxExemptionReason>{}</cbc:TaxExemptionReason>", esc(&reason));
        }
        if cat == "O" {
            x += "<cbc:TaxExemptionReason>Neplătitor de TVA</cbc:TaxExemptionReason>";
        }
        x += "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>";
    }
    x += "</cac:TaxTotal>\n";
    x += &format!(
        "<cac:LegalMonetaryTotal><cbc:LineExtensionAmount {}</cbc:LineExtensionAmount><cbc:TaxExclusiveAmount {}</cbc:TaxExclusiveAmount><cbc:TaxInclusiveAmount {}</cbc:TaxInclusiveAmount>",
        money(doc.net_cents),
        money(doc.net_cents),
        money(doc.total_cents)
    );
    if doc.prepaid_cents != 0 {
        x += &format!("<cbc:PrepaidAmount {}</cbc:PrepaidAmount>", money(doc.prepaid_cents));
    }
    x += &format!("<cbc:PayableAmount {}</cbc:PayableAmount></cac:LegalMonetaryTotal>\n", money(doc.payable_cents()));
    for (i, l) in doc.lines.iter().enumerate() {
        let cat = category(l.vat_rate, vat_payer);
        x += &format!("<cac:{line_tag}><cbc:ID>{}</cbc:ID><cbc:{qty_tag} unitCode=\"H87\">{}</cbc:{qty_tag}><cbc:LineExtensionAmount {}</cbc:LineExtensionAmount>", i + 1, l.quantity, money(l.net));
        x += &format!("<cac:Item><cbc:Name>{}</cbc:Name>", esc(&l.name.chars().take(200).collect::<String>()));
        if !l.sku.is_empty() {
            x += &format!("<cac:SellersItemIdentification><cbc:ID>{}</cbc:ID></cac:SellersItemIdentification>", esc(&l.sku));
        }
        x += &format!("<cac:ClassifiedTaxCategory><cbc:ID>{cat}</cbc:ID>");
        if cat != "O" {
            x += &format!("<cbc:Percent>{}</cbc:Percent>", l.vat_rate);
        }
        x += "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>";
        let unit = l.unit_net_x100();
        x += &format!("<cac:Price><cbc:PriceAmount currencyID=\"{cur}\">{}.{:04}</cbc:PriceAmount></cac:Price></cac:{line_tag}>\n", unit / 10_000, unit % 10_000);
    }
    x += &format!("</{root}>\n");
    x
}

/// What the invoice says about paying it.
pub fn payment_terms(doc: &Document) -> String {
    match (doc.kind, doc.payment_method.as_str()) {
        (DocKind::CreditNote, _) => "Suma se restituie clientului".into(),
        (_, "cod") => "Plata ramburs, la livrare".into(),
        (_, "card") => "Achitat cu cardul".into(),
        (_, "bank_transfer") => "Achitat prin transfer bancar".into(),
        _ => "Achitat".into(),
    }
}

/// A county's name for a printed address (`Cluj`, `București, Sector 3`).
pub fn printed_region(a: &Address) -> String {
    match (county_name(&a.county), a.sector) {
        (Some(n), Some(s)) => format!("{n}, Sector {s}"),
        (Some(n), None) => format!("jud. {n}"),
        (None, _) => a.county.clone(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::order::tests::sample;
    use crate::domain::order::OrderStatus;
    use crate::domain::payment::PaymentMethod;

    pub(crate) fn seller() -> Seller {
        Seller { name: "Vitrina Demo SRL".into(), cui: "14399840".into(), reg_com: "J12/1234/2020".into(), street: "Strada Memorandumului 1".into(), city: "Cluj-Napoca".into(), county: "RO-CJ".into(), sector: None, postal_code: "400114".into(), iban: "RO49AAAA1B31007593840000".into(), bank: "Banca Transilvania".into(), vat_payer: true, email: "facturi@vitrina.ro".into(), phone: "0264000000".into(), capital: String::new() }
    }

    #[test]
    fn an_invoice_adds_up_to_its_order_per_rate() {
        let mut o = sample(OrderStatus::Placed, PaymentMethod::Cod);
        o.lines[1].vat_rate = Some(11);
        o.lines[0].discount_cents = 100;
        o.shipping = crate::domain::money::Money::shop(1999);
        o.discount_cents = 100;
        let doc = Document::invoice(&o, &seller(), &|_| None, chrono::Utc::now());
        assert_eq!(doc.total_cents, o.lines.iter().map(|l| l.line_total.amount - l.discount_cents).sum::<i64>() + 1999);
        assert_eq!(doc.vat, o.vat_parts(), "the same breakdown as the order's");
        assert_eq!(doc.vat.iter().map(|p| p.rate).collect::<Vec<_>>(), [21, 11]);
        assert_eq!(doc.net_cents + doc.vat_cents, doc.total_cents);
        assert_eq!(doc.payable_cents(), doc.total_cents, "cash on delivery: due");
        let xml = ubl(&doc);
        assert!(xml.contains("<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>") && xml.contains(CUSTOMIZATION_ID));
        assert!(xml.contains("<cbc:ID>0000000000000</cbc:ID>"), "a person without a CNP");
        assert!(xml.contains("<cbc:CountrySubentity>RO-CJ</cbc:CountrySubentity>"));
        assert_eq!(xml.matches("<cac:TaxSubtotal>").count(), 2);
    }

    #[test]
    fn a_credit_note_shares_an_amount_over_the_rates_to_the_cent() {
        let mut o = sample(OrderStatus::Placed, PaymentMethod::Card);
        o.lines[1].vat_rate = Some(11);
        let inv = Document::invoice(&o, &seller(), &|_| None, chrono::Utc::now());
        for amount in [1, 777, 1500, inv.total_cents] {
            let cn = Document::credit_for_amount(&o, &inv, amount, "a scratch", chrono::Utc::now());
            assert_eq!(cn.total_cents, amount);
            assert_eq!(cn.invoice.as_ref().map(|i| i.number.clone()), Some(inv.full_number()));
        }
        let back = Document::credit_for_units(&o, &inv, &[("B".into(), 1)], "retur", chrono::Utc::now());
        assert_eq!((back.total_cents, back.lines[0].vat_rate), (1000, 11), "one of the two B at 10 lei");
        let xml = ubl(&back);
        assert!(xml.contains("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>") && xml.contains("<cac:BillingReference>"));
    }

    #[test]
    fn bucharest_is_written_by_sector_and_text_is_escaped() {
        let a = Address { name: "A".into(), street: "Calea Victoriei <1> & 2".into(), city: "București".into(), postal_code: "030167".into(), country: "RO".into(), phone: String::new(), county: "RO-B".into(), sector: Some(3) };
        let x = postal_address(&a);
        assert!(x.contains("<cbc:CityName>SECTOR3</cbc:CityName>") && x.contains("<cbc:CountrySubentity>RO-B</cbc:CountrySubentity>"));
        assert!(x.contains("Calea Victoriei &lt;1&gt; &amp; 2"));
        assert_eq!(amount(-5), "-0.05");
        assert_eq!(amount(123456), "1234.56");
    }
}
