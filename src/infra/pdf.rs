//! Invoices and credit notes as A4 PDFs, in Romanian, with DejaVu Sans
//! (it has ș ț ă â î) embedded as a subset of the glyphs used, and a
//! ToUnicode map so the text can be copied and searched (`pdftotext`).
use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::domain::invoice::{printed_region, DocKind, Document};
use crate::ports::DocumentRenderer;

const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 40.0;

/// A font and the glyphs a document used of it.
struct FontUse {
    face: ttf_parser::Face<'static>,
    data: &'static [u8],
    name: &'static [u8],
    resource: &'static [u8],
    /// Old glyph id → the subset's id, assigned as text is encoded.
    remapper: subsetter::GlyphRemapper,
    /// The subset's id → (old id, the character it shows).
    used: BTreeMap<u16, (u16, char)>,
}

impl FontUse {
    fn new(data: &'static [u8], name: &'static [u8], resource: &'static [u8]) -> Result<Self, String> {
        let face = ttf_parser::Face::parse(data, 0).map_err(|e| format!("font: {e}"))?;
        Ok(Self { face, data, name, resource, remapper: subsetter::GlyphRemapper::new(), used: BTreeMap::new() })
    }

    fn scale(&self) -> f32 {
        1000.0 / self.face.units_per_em() as f32
    }

    /// The width of `text` at `size` points.
    fn width(&self, text: &str, size: f32) -> f32 {
        text.chars()
            .map(|c| self.face.glyph_index(c).and_then(|g| self.face.glyph_hor_advance(g)).unwrap_or(0) as f32)
            .sum::<f32>()
            * self.scale()
            * size
            / 1000.0
    }

    /// The subset's glyph ids of `text` (big-endian pairs); the glyphs join the subset.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let g = self.face.glyph_index(c).or_else(|| self.face.glyph_index('?')).map(|g| g.0).unwrap_or(0);
            let new = self.remapper.remap(g);
            self.used.entry(new).or_insert((g, c));
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }
}

/// One page's drawing, with text measured and encoded in the document's fonts.
struct Canvas<'f> {
    content: Content,
    regular: &'f mut FontUse,
    bold: &'f mut FontUse,
}

impl Canvas<'_> {
    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, text: &str) {
        let font = if bold { &mut *self.bold } else { &mut *self.regular };
        let glyphs = font.encode(text);
        self.content.begin_text().set_font(Name(font.resource), size).next_line(x, y).show(Str(&glyphs)).end_text();
    }

    fn text_right(&mut self, right: f32, y: f32, size: f32, bold: bool, text: &str) {
        let w = if bold { self.bold.width(text, size) } else { self.regular.width(text, size) };
        self.text(right - w, y, size, bold, text);
    }

    /// Writes `text` wrapped to `width`; returns the lines used.
    fn wrapped(&mut self, x: f32, y: f32, width: f32, size: f32, bold: bool, text: &str, leading: f32) -> usize {
        let lines = self.wrap(text, width, size, bold);
        for (i, line) in lines.iter().enumerate() {
            self.text(x, y - i as f32 * leading, size, bold, line);
        }
        lines.len()
    }

    fn wrap(&self, text: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
        let font = if bold { &*self.bold } else { &*self.regular };
        let mut lines = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() { word.to_string() } else { format!("{current} {word}") };
            if font.width(&candidate, size) <= width || current.is_empty() {
                current = candidate;
            } else {
                lines.push(std::mem::take(&mut current));
                current = word.to_string();
            }
        }
        if !current.is_empty() || lines.is_empty() {
            lines.push(current);
        }
        lines
    }

    fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, gray: f32, width: f32) {
        self.content.set_stroke_rgb(gray, gray, gray).set_line_width(width).move_to(x1, y1).line_to(x2, y2).stroke();
    }

    fn band(&mut self, x: f32, y: f32, w: f32, h: f32, gray: f32) {
        self.content.set_fill_rgb(gray, gray, gray).rect(x, y, w, h).fill_nonzero();
        self.content.set_fill_rgb(0.0, 0.0, 0.0);
    }
}

/// `1.299,99` (Romanian grouping and decimal comma).
fn lei(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let whole = (cents.abs() / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02}", cents.abs() % 100)
}

/// A unit price kept to four decimals (hundredths of a ban), trailing zeros after two dropped: `12,3450` → `12,345`.
fn lei_precise(cents_x100: i64) -> String {
    let whole = lei(cents_x100 / 100);
    let rest = (cents_x100 % 100).abs();
    if rest == 0 {
        whole
    } else if rest % 10 == 0 {
        format!("{whole}{}", rest / 10)
    } else {
        format!("{whole}{rest:02}")
    }
}

fn method_ro(method: &str) -> &'static str {
    match method {
        "card" => "card bancar",
        "bank_transfer" => "transfer bancar",
        _ => "ramburs (numerar la livrare)",
    }
}

/// The PDF renderer of fiscal documents.
pub struct PdfRenderer;

impl DocumentRenderer for PdfRenderer {
    fn pdf(&self, doc: &Document) -> Result<Vec<u8>, String> {
        render(doc)
    }
}

/// Column layout of the lines table: (left edge, width, right-aligned).
const COLS: [(f32, f32, bool); 7] = [(MARGIN, 22.0, false), (62.0, 215.0, false), (277.0, 32.0, true), (309.0, 70.0, true), (379.0, 72.0, true), (451.0, 36.0, true), (487.0, 68.0, true)];

fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let mut regular = FontUse::new(REGULAR, b"DejaVuSans", b"F1")?;
    let mut bold = FontUse::new(BOLD, b"DejaVuSans-Bold", b"F2")?;
    let cur = doc.currency.as_str();
    let title = match doc.kind {
        DocKind::Invoice => "FACTURĂ",
        DocKind::CreditNote => "FACTURĂ DE STORNARE",
    };
    let mut pages: Vec<Content> = Vec::new();
    let mut page_no = 1;
    let header_lines = |c: &mut Canvas, continued: bool| -> f32 {
        let mut y = PAGE_H - MARGIN - 10.0;
        c.text(MARGIN, y, 16.0, true, title);
        c.text_right(PAGE_W - MARGIN, y, 10.0, true, &format!("Seria {} nr. {:06}", doc.series, doc.number));
        y -= 16.0;
        c.text_right(PAGE_W - MARGIN, y, 9.0, false, &format!("Data emiterii: {}", doc.issued_at.format("%d.%m.%Y")));
        if let Some(inv) = &doc.invoice {
            y -= 12.0;
            c.text_right(PAGE_W - MARGIN, y, 9.0, false, &format!("Stornează factura {} din {}", inv.number, inv.issued_on.format("%d.%m.%Y")));
        }
        if continued {
            y -= 12.0;
            c.text(MARGIN, y, 9.0, false, "(continuare)");
        }
        y - 14.0
    };
    let mut canvas = Canvas { content: Content::new(), regular: &mut regular, bold: &mut bold };
    let mut y = header_lines(&mut canvas, false);
    // seller and buyer, side by side
    let s = &doc.seller;
    let b = &doc.buyer;
    let half = (PAGE_W - 2.0 * MARGIN - 20.0) / 2.0;
    let bx = MARGIN + half + 20.0;
    canvas.text(MARGIN, y, 8.0, true, "FURNIZOR");
    canvas.text(bx, y, 8.0, true, "CUMPĂRĂTOR");
    y -= 13.0;
    let seller_rows: Vec<String> = [
        s.name.clone(),
        format!("CIF: {}", s.tax_id()),
        if s.reg_com.is_empty() { String::new() } else { format!("Reg. Com.: {}", s.reg_com) },
        if s.capital.is_empty() { String::new() } else { format!("Capital social: {}", s.capital) },
        s.street.clone(),
        format!("{} {}", s.postal_code, s.city).trim().to_string(),
        printed_region(&crate::domain::order::Address { county: s.county.clone(), sector: s.sector, ..Default::default() }),
        if s.vat_payer { "Plătitor de TVA".to_string() } else { "Neplătitor de TVA".to_string() },
        if s.iban.is_empty() { String::new() } else { format!("IBAN: {}", s.iban) },
        if s.bank.is_empty() { String::new() } else { format!("Banca: {}", s.bank) },
    ]
    .into_iter()
    .filter(|r| !r.is_empty())
    .collect();
    let a = &b.address;
    let buyer_id = if b.company { format!("CIF: {}", b.tax_id) } else { "Persoană fizică".to_string() };
    let buyer_rows: Vec<String> = [
        b.name.clone(),
        buyer_id,
        if b.reg_com.is_empty() { String::new() } else { format!("Reg. Com.: {}", b.reg_com) },
        a.street.clone(),
        format!("{} {}", a.postal_code, a.city).trim().to_string(),
        printed_region(a),
        if a.country.is_empty() || a.country == "RO" { String::new() } else { a.country.clone() },
    ]
    .into_iter()
    .filter(|r| !r.is_empty())
    .collect();
    let mut ys = y;
    for (i, r) in seller_rows.iter().enumerate() {
        ys -= canvas.wrapped(MARGIN, ys, half, 9.0, i == 0, r, 11.0) as f32 * 11.0;
    }
    let mut yb = y;
    for (i, r) in buyer_rows.iter().enumerate() {
        yb -= canvas.wrapped(bx, yb, half, 9.0, i == 0, r, 11.0) as f32 * 11.0;
    }
    y = ys.min(yb) - 8.0;
    canvas.text(MARGIN, y, 9.0, false, &format!("Comanda {} · Modalitate de plată: {} · Moneda: {cur}", doc.order_number, method_ro(&doc.payment_method)));
    if !doc.reason.is_empty() {
        y -= 12.0;
        canvas.wrapped(MARGIN, y, PAGE_W - 2.0 * MARGIN, 9.0, false, &format!("Motiv: {}", doc.reason), 11.0);
    }
    y -= 20.0;
    // the lines
    let table_head = |c: &mut Canvas, y: f32| -> f32 {
        c.band(MARGIN, y - 14.0, PAGE_W - 2.0 * MARGIN, 25.0, 0.92);
        let heads = [("Nr.", ""), ("Denumirea produselor sau serviciilor", ""), ("Cant.", ""), ("Preț unitar", "fără TVA"), ("Valoare", "fără TVA"), ("Cota", "TVA"), ("Valoare", "TVA")];
        for ((x, w, right), (first, second)) in COLS.iter().zip(heads) {
            for (k, h) in [first, second].into_iter().enumerate() {
                let yk = y - k as f32 * 8.5;
                if *right {
                    c.text_right(x + w - 2.0, yk, 7.0, true, h);
                } else {
                    c.text(x + 2.0, yk, 7.0, true, h);
                }
            }
        }
        y - 26.0
    };
    y = table_head(&mut canvas, y);
    for (i, l) in doc.lines.iter().enumerate() {
        let name_lines = canvas.wrap(&l.name, COLS[1].1 - 4.0, 8.0, false);
        let height = name_lines.len() as f32 * 10.0 + 4.0;
        if y - height < MARGIN + 150.0 && i + 1 < doc.lines.len() {
            canvas.text_right(PAGE_W - MARGIN, MARGIN - 10.0, 8.0, false, &format!("Pagina {page_no}"));
            pages.push(std::mem::replace(&mut canvas.content, Content::new()));
            page_no += 1;
            y = header_lines(&mut canvas, true);
            y = table_head(&mut canvas, y);
        }
        let unit = l.unit_net_x100();
        let cells = [
            (i + 1).to_string(),
            String::new(),
            l.quantity.to_string(),
            lei_precise(unit),
            lei(l.net),
            format!("{} %", l.vat_rate),
            lei(l.gross - l.net),
        ];
        for (j, ((x, w, right), cell)) in COLS.iter().zip(cells.iter()).enumerate() {
            if j == 1 {
                for (k, nl) in name_lines.iter().enumerate() {
                    canvas.text(x + 2.0, y - k as f32 * 10.0, 8.0, false, nl);
                }
            } else if *right {
                canvas.text_right(x + w - 2.0, y, 8.0, false, cell);
            } else {
                canvas.text(x + 2.0, y, 8.0, false, cell);
            }
        }
        if let Some(reason) = &l.exemption {
            canvas.text(COLS[1].0 + 2.0, y - name_lines.len() as f32 * 10.0, 7.0, false, &format!("Scutire: {reason}"));
            y -= 9.0;
        }
        y -= height;
        canvas.line(MARGIN, y + 6.0, PAGE_W - MARGIN, y + 6.0, 0.85, 0.5);
    }
    // VAT per rate, then the totals
    y -= 8.0;
    let right = PAGE_W - MARGIN;
    let label_x = 300.0;
    for p in &doc.vat {
        canvas.text(label_x, y, 8.5, false, &format!("Bază de impozitare {} %", p.rate));
        canvas.text_right(right, y, 8.5, false, &format!("{} {cur}", lei(p.net)));
        y -= 11.0;
        canvas.text(label_x, y, 8.5, false, &format!("TVA {} %", p.rate));
        canvas.text_right(right, y, 8.5, false, &format!("{} {cur}", lei(p.vat)));
        y -= 13.0;
    }
    canvas.line(label_x, y + 9.0, right, y + 9.0, 0.5, 0.6);
    canvas.text(label_x, y, 9.0, false, "Total fără TVA");
    canvas.text_right(right, y, 9.0, false, &format!("{} {cur}", lei(doc.net_cents)));
    y -= 12.0;
    canvas.text(label_x, y, 9.0, false, "Total TVA");
    canvas.text_right(right, y, 9.0, false, &format!("{} {cur}", lei(doc.vat_cents)));
    y -= 14.0;
    let total_label = if doc.kind == DocKind::CreditNote { "Total de restituit" } else { "Total" };
    canvas.text(label_x, y, 11.0, true, total_label);
    canvas.text_right(right, y, 11.0, true, &format!("{} {cur}", lei(doc.total_cents)));
    y -= 13.0;
    if doc.kind == DocKind::Invoice {
        let due = if doc.payable_cents() == 0 { "Achitat".to_string() } else { format!("De plată: {} {cur}", lei(doc.payable_cents())) };
        canvas.text_right(right, y, 9.0, false, &due);
        y -= 13.0;
    }
    y -= 10.0;
    canvas.wrapped(MARGIN, y, PAGE_W - 2.0 * MARGIN, 7.5, false, "Factura este valabilă fără semnătură și ștampilă (art. 319 alin. (29) din Legea nr. 227/2015 privind Codul fiscal). Documentul se transmite în sistemul național RO e-Factura.", 9.5);
    canvas.text_right(PAGE_W - MARGIN, MARGIN - 10.0, 8.0, false, &format!("Pagina {page_no}"));
    pages.push(std::mem::replace(&mut canvas.content, Content::new()));
    drop(canvas);
    assemble(doc, pages, &mut [&mut regular, &mut bold])
}

fn assemble(doc: &Document, pages: Vec<Content>, fonts: &mut [&mut FontUse]) -> Result<Vec<u8>, String> {
    let mut pdf = Pdf::new();
    let mut next = 1;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let catalog = alloc();
    let tree = alloc();
    let info = alloc();
    let page_refs: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    let font_refs: Vec<[Ref; 5]> = fonts.iter().map(|_| [alloc(), alloc(), alloc(), alloc(), alloc()]).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids(page_refs.iter().map(|(p, _)| *p)).count(page_refs.len() as i32);
    let title = format!("{} {}{:06}", if doc.kind == DocKind::Invoice { "Factura" } else { "Nota de credit" }, doc.series, doc.number);
    pdf.document_info(info).title(TextStr(&title)).producer(TextStr("Vitrina"));
    for ((page, content_ref), content) in page_refs.iter().zip(pages) {
        let mut p = pdf.page(*page);
        p.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*content_ref);
        let mut resources = p.resources();
        let mut f = resources.fonts();
        for (font, refs) in fonts.iter().zip(&font_refs) {
            f.pair(Name(font.resource), refs[0]);
        }
        f.finish();
        resources.finish();
        p.finish();
        let data = miniz(&content.finish());
        pdf.stream(*content_ref, &data).filter(Filter::FlateDecode);
    }
    for (font, [type0, cid, descriptor, file, cmap]) in fonts.iter_mut().zip(font_refs) {
        // the subset keeps the glyphs used, renumbered as the text was written
        let subset = subsetter::subset(font.data, 0, &font.remapper).map_err(|e| format!("font subset: {e:?}"))?;
        let system = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
        let mut base = b"VTRABC+".to_vec();
        base.extend_from_slice(font.name);
        pdf.type0_font(type0).base_font(Name(&base)).encoding_predefined(Name(b"Identity-H")).descendant_font(cid).to_unicode(cmap);
        let scale = font.scale();
        let mut cid_font = pdf.cid_font(cid);
        cid_font.subtype(CidFontType::Type2).base_font(Name(&base)).system_info(system).font_descriptor(descriptor).default_width(0.0).cid_to_gid_map_predefined(Name(b"Identity"));
        {
            let mut widths = cid_font.widths();
            for (new, (old, _)) in &font.used {
                let w = font.face.glyph_hor_advance(ttf_parser::GlyphId(*old)).unwrap_or(0) as f32 * scale;
                widths.consecutive(*new, [w]);
            }
        }
        cid_font.finish();
        let bbox = font.face.global_bounding_box();
        pdf.font_descriptor(descriptor)
            .name(Name(&base))
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(bbox.x_min as f32 * scale, bbox.y_min as f32 * scale, bbox.x_max as f32 * scale, bbox.y_max as f32 * scale))
            .italic_angle(0.0)
            .ascent(font.face.ascender() as f32 * scale)
            .descent(font.face.descender() as f32 * scale)
            .cap_height(font.face.capital_height().unwrap_or(700) as f32 * scale)
            .stem_v(80.0)
            .font_file2(file);
        let compressed = miniz(&subset);
        pdf.stream(file, &compressed).filter(Filter::FlateDecode).pair(Name(b"Length1"), subset.len() as i32);
        let mut map = pdf_writer::types::UnicodeCmap::new(Name(b"Vitrina-UTF16"), system);
        for (new, (_, c)) in &font.used {
            map.pair(*new, *c);
        }
        pdf.cmap(cmap, &map.finish());
    }
    Ok(pdf.finish())
}

fn miniz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invoice::tests::seller;
    use crate::domain::order::tests::sample;
    use crate::domain::order::OrderStatus;
    use crate::domain::payment::PaymentMethod;

    fn document() -> Document {
        let mut o = sample(OrderStatus::Placed, PaymentMethod::Cod);
        o.lines[0].name = "Șosete țesute în Brașov, mărimea 42".into();
        o.lines[1].vat_rate = Some(11);
        Document { series: "VTR".into(), number: 7, ..Document::invoice(&o, &seller(), &|_| None, chrono::Utc::now()) }
    }

    /// A stream's content: inflated when it is compressed, as written otherwise (the ToUnicode maps).
    fn inflate(data: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match flate2::read::ZlibDecoder::new(data).read_to_end(&mut out) {
            Ok(_) => out,
            Err(_) => data.to_vec(),
        }
    }

    #[test]
    fn a_pdf_invoice_embeds_a_subset_with_romanian_letters_mapped_to_unicode() {
        let pdf = render(&document()).unwrap();
        if let Ok(dir) = std::env::var("VITRINA_UBL_SAMPLES") {
            std::fs::write(format!("{dir}/invoice.pdf"), &pdf).unwrap();
        }
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert_eq!(text.matches("/FontFile2").count(), 2, "both fonts embedded");
        assert!(text.contains("VTRABC+DejaVuSans"));
        // every stream decompresses; one of them maps a glyph to ș (U+0219) and one to ț (U+021B)
        let mut cmaps = String::new();
        let mut rest = &pdf[..];
        while let Some(start) = rest.windows(7).position(|w| w == b"stream\n") {
            let body = &rest[start + 7..];
            let end = body.windows(9).position(|w| w == b"endstream").unwrap();
            cmaps.push_str(&String::from_utf8_lossy(&inflate(&body[..end])));
            rest = &body[end + 9..];
        }
        assert!(cmaps.contains("<0219>"), "ș is searchable");
        assert!(cmaps.contains("<021B>"), "ț is searchable");
        assert!(pdf.len() < 120_000, "a subset, not the whole font: {} bytes", pdf.len());
    }

    /// Writes sample documents for a look and for the official validator
    /// (`VITRINA_UBL_SAMPLES=dir cargo test … write_samples`).
    #[test]
    fn write_samples() {
        let Ok(dir) = std::env::var("VITRINA_UBL_SAMPLES") else { return };
        use crate::domain::invoice::ubl;
        use crate::domain::order::Address;
        let mut o = sample(OrderStatus::Placed, PaymentMethod::Cod);
        o.lines[1].vat_rate = Some(11);
        o.lines[0].discount_cents = 100;
        o.shipping = crate::domain::money::Money::shop(1999);
        o.discount_cents = 100;
        let inv = Document { series: "VTR".into(), number: 1, ..Document::invoice(&o, &seller(), &|_| None, chrono::Utc::now()) };
        std::fs::write(format!("{dir}/person.xml"), ubl(&inv)).unwrap();
        o.billing = Some(crate::domain::billing::Billing { kind: crate::domain::billing::BuyerKind::Company, company_name: "Client SRL".into(), cui: "18547290".into(), vat_payer: true, reg_com: "J40/1/2001".into(), address: Some(Address { name: String::new(), street: "Bd. Unirii 1".into(), city: "București".into(), postal_code: "030167".into(), country: "RO".into(), phone: String::new(), county: "RO-B".into(), sector: Some(3) }), ..Default::default() });
        o.payment.method = PaymentMethod::BankTransfer;
        let inv = Document { series: "VTR".into(), number: 2, ..Document::invoice(&o, &seller(), &|_| None, chrono::Utc::now()) };
        std::fs::write(format!("{dir}/company.xml"), ubl(&inv)).unwrap();
        std::fs::write(format!("{dir}/company.pdf"), render(&inv).unwrap()).unwrap();
        let cn = Document { series: "VTR".into(), number: 3, ..Document::credit_for_amount(&o, &inv, 777, "refund", chrono::Utc::now()) };
        std::fs::write(format!("{dir}/credit.xml"), ubl(&cn)).unwrap();
        std::fs::write(format!("{dir}/credit.pdf"), render(&cn).unwrap()).unwrap();
    }

    #[test]
    fn amounts_are_written_the_romanian_way() {
        assert_eq!(lei(129_999), "1.299,99");
        assert_eq!(lei(-5), "-0,05");
        assert_eq!(lei_precise(1_234_500), "123,45");
        assert_eq!(lei_precise(1_234_550), "123,455");
        assert_eq!(lei_precise(1_234_567), "123,4567");
    }
}
