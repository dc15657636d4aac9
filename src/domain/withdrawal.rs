//! The right of withdrawal on an order: when a return may be asked, what
//! may go back, and each step of a return as one guarded write of the
//! order's returns (the types are in `returns`).
use chrono::{DateTime, Duration, Utc};

use super::order::{Order, OrderStatus};
use super::patch::Patch;
use super::returns::{ReceivedLine, Return, ReturnLine, ReturnRequest, ReturnStatus, WITHDRAWAL_DAYS};
use super::user::FieldError;

impl Order {
    /// When it was delivered, if it was.
    pub fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.history.iter().rev().find(|h| h.status == OrderStatus::Delivered).map(|h| h.at)
    }

    /// The last day a return may be asked for (14 days after delivery).
    pub fn return_deadline(&self) -> Option<DateTime<Utc>> {
        self.delivered_at().map(|d| d + Duration::days(WITHDRAWAL_DAYS))
    }

    /// Units of `sku` still returnable: bought, less what open or done returns hold.
    pub fn returnable(&self, sku: &str) -> i64 {
        let bought: i64 = self.lines.iter().filter(|l| l.sku == sku).map(|l| l.quantity).sum();
        let held: i64 = self
            .returns
            .iter()
            .filter(|r| r.status != ReturnStatus::Rejected)
            .flat_map(|r| r.lines.iter())
            .filter(|l| l.sku == sku)
            .map(|l| if l.received > 0 { l.received } else { l.quantity })
            .sum();
        (bought - held).max(0)
    }

    /// Whether a return may be asked for now: shipped, or delivered less than 14 days ago.
    pub fn may_return(&self, now: DateTime<Utc>) -> bool {
        match self.status {
            OrderStatus::Shipped => true,
            OrderStatus::Delivered => self.return_deadline().is_some_and(|d| now <= d),
            _ => false,
        }
    }

    /// Records a shopper's return request. Returns the write and the return's id.
    pub fn request_return(&mut self, req: &ReturnRequest, now: DateTime<Utc>) -> Result<(Patch, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        if !self.may_return(now) {
            let code = if self.status == OrderStatus::Delivered { "field-return-window" } else { "field-return-not-shipped" };
            return Err(vec![FieldError::coded(code, "order", &[("days", &WITHDRAWAL_DAYS.to_string())])]);
        }
        let mut lines: Vec<ReturnLine> = Vec::new();
        for (i, l) in req.lines.iter().enumerate() {
            if l.quantity == 0 {
                continue;
            }
            let left = self.returnable(&l.sku) - lines.iter().filter(|x| x.sku == l.sku).map(|x| x.quantity).sum::<i64>();
            if !self.lines.iter().any(|o| o.sku == l.sku) {
                errors.push(FieldError::coded("field-return-sku", &format!("lines[{i}].sku"), &[("sku", &l.sku)]));
            } else if l.quantity < 0 || l.quantity > left {
                errors.push(FieldError::coded("field-return-quantity", &format!("lines[{i}].quantity"), &[("max", &left.to_string())]));
            } else {
                lines.push(ReturnLine { sku: l.sku.clone(), quantity: l.quantity, received: 0, condition: String::new() });
            }
        }
        if lines.is_empty() && errors.is_empty() {
            errors.push(FieldError::coded("field-return-lines", "lines", &[]));
        }
        let reason = req.reason.trim().to_string();
        if reason.chars().count() > 1000 {
            errors.push(FieldError::coded("field-max-chars", "reason", &[("max", "1000")]));
        }
        let iban = match req.iban.as_deref().map(|s| s.split_whitespace().collect::<String>().to_uppercase()).filter(|s| !s.is_empty()) {
            Some(i) if !super::billing::valid_iban(&i) => {
                errors.push(FieldError::coded("field-iban-invalid", "iban", &[]));
                None
            }
            other => other,
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let before = self.clone();
        let id = format!("ret_{}", self.returns.len() + 1);
        self.returns.push(Return {
            id: id.clone(),
            lines,
            reason,
            status: ReturnStatus::Requested,
            requested_at: now,
            refund_due: now + Duration::days(WITHDRAWAL_DAYS),
            approved_at: None,
            received_at: None,
            refunded_at: None,
            iban,
            refund_id: None,
            refund_cents: 0,
            note: String::new(),
        });
        self.updated_at = now;
        Ok((self.changes_since(&before), id))
    }

    fn open_return(&mut self, id: &str, expected: &[ReturnStatus]) -> Result<usize, FieldError> {
        let i = self.returns.iter().position(|r| r.id == id).ok_or_else(|| FieldError::coded("field-return-unknown", "return", &[]))?;
        if !expected.contains(&self.returns[i].status) {
            return Err(FieldError::coded("field-return-state", "return", &[("status", self.returns[i].status.as_str())]));
        }
        Ok(i)
    }

    /// The shop agrees to a requested return.
    pub fn approve_return(&mut self, id: &str, now: DateTime<Utc>) -> Result<Patch, FieldError> {
        let before = self.clone();
        let i = self.open_return(id, &[ReturnStatus::Requested])?;
        self.returns[i].status = ReturnStatus::Approved;
        self.returns[i].approved_at = Some(now);
        self.updated_at = now;
        Ok(self.changes_since(&before))
    }

    /// The shop refuses a requested return, saying why.
    pub fn reject_return(&mut self, id: &str, note: &str, now: DateTime<Utc>) -> Result<Patch, FieldError> {
        let note = note.trim();
        if note.is_empty() || note.chars().count() > 1000 {
            return Err(FieldError::coded("field-return-note", "note", &[]));
        }
        let before = self.clone();
        let i = self.open_return(id, &[ReturnStatus::Requested, ReturnStatus::Approved])?;
        self.returns[i].status = ReturnStatus::Rejected;
        self.returns[i].note = note.to_string();
        self.updated_at = now;
        Ok(self.changes_since(&before))
    }

    /// The parcel arrived: what came of each line (at most what was asked) and in what condition.
    pub fn receive_return(&mut self, id: &str, received: &[ReceivedLine], now: DateTime<Utc>) -> Result<Patch, Vec<FieldError>> {
        let before = self.clone();
        let i = self.open_return(id, &[ReturnStatus::Requested, ReturnStatus::Approved]).map_err(|e| vec![e])?;
        let mut errors = Vec::new();
        let mut lines = self.returns[i].lines.clone();
        for (k, r) in received.iter().enumerate() {
            match lines.iter_mut().find(|l| l.sku == r.sku) {
                None => errors.push(FieldError::coded("field-return-sku", &format!("lines[{k}].sku"), &[("sku", &r.sku)])),
                Some(l) if r.quantity < 0 || r.quantity > l.quantity => errors.push(FieldError::coded("field-return-quantity", &format!("lines[{k}].quantity"), &[("max", &l.quantity.to_string())])),
                Some(l) => {
                    l.received = r.quantity;
                    l.condition = r.condition.trim().chars().take(300).collect();
                }
            }
        }
        if lines.iter().all(|l| l.received == 0) && errors.is_empty() {
            errors.push(FieldError::coded("field-return-nothing-received", "lines", &[]));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let r = &mut self.returns[i];
        r.lines = lines;
        r.status = ReturnStatus::Received;
        r.received_at = Some(now);
        if r.approved_at.is_none() {
            r.approved_at = Some(now);
        }
        self.updated_at = now;
        Ok(self.changes_since(&before))
    }

    /// What the units a return received come to, as they were paid (after their discounts).
    pub fn return_value(&self, id: &str) -> i64 {
        let Some(r) = self.returns.iter().find(|r| r.id == id) else { return 0 };
        r.lines
            .iter()
            .map(|rl| {
                self.lines
                    .iter()
                    .find(|l| l.sku == rl.sku)
                    .map(|l| ((l.line_total.amount - l.discount_cents) as i128 * rl.received as i128 / l.quantity.max(1) as i128) as i64)
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Refunds a received return: the refund and the return's new state in one write.
    /// `pending`: the provider still has to make it. Returns the write and the refund's id.
    pub fn refund_return(&mut self, id: &str, iban: Option<&str>, pending: bool, now: DateTime<Utc>) -> Result<(Patch, String), Vec<FieldError>> {
        let before = self.clone();
        let i = self.open_return(id, &[ReturnStatus::Received]).map_err(|e| vec![e])?;
        let iban = iban.map(|s| s.split_whitespace().collect::<String>().to_uppercase()).filter(|s| !s.is_empty()).or_else(|| self.returns[i].iban.clone());
        if self.payment.method == super::payment::PaymentMethod::Cod {
            match &iban {
                None => return Err(vec![FieldError::coded("field-return-iban-needed", "iban", &[])]),
                Some(v) if !super::billing::valid_iban(v) => return Err(vec![FieldError::coded("field-iban-invalid", "iban", &[])]),
                _ => {}
            }
        }
        let amount = self.return_value(id);
        let reason = format!("Retur {} ({})", id, self.number);
        let refund_id = self.payment.refund(amount, &reason, pending, now).map_err(|e| vec![e])?;
        let r = &mut self.returns[i];
        r.status = ReturnStatus::Refunded;
        r.refunded_at = Some(now);
        r.refund_id = Some(refund_id.clone());
        r.refund_cents = amount;
        r.iban = iban;
        self.updated_at = now;
        Ok((self.changes_since(&before), refund_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::returns::RequestLine;
    use crate::domain::order::tests::sample;
    use crate::domain::payment::PaymentMethod;

    fn delivered(days_ago: i64) -> Order {
        let mut o = sample(OrderStatus::Placed, PaymentMethod::Cod);
        let now = Utc::now();
        o.transition(OrderStatus::Confirmed, now - Duration::days(days_ago + 2)).unwrap();
        o.transition(OrderStatus::Shipped, now - Duration::days(days_ago + 1)).unwrap();
        o.transition(OrderStatus::Delivered, now - Duration::days(days_ago)).unwrap();
        o
    }

    fn ask(o: &mut Order, sku: &str, quantity: i64) -> Result<(Patch, String), Vec<FieldError>> {
        o.request_return(&ReturnRequest { lines: vec![RequestLine { sku: sku.into(), quantity }], reason: "too small".into(), iban: None }, Utc::now())
    }

    #[test]
    fn a_return_is_asked_within_14_days_of_delivery_for_units_bought() {
        let mut late = delivered(15);
        let sku = late.lines[0].sku.clone();
        assert_eq!(ask(&mut late, &sku, 1).unwrap_err()[0].field, "order");
        let mut o = delivered(3);
        let bought = o.lines[1].quantity;
        let sku1 = o.lines[1].sku.clone();
        let errs = ask(&mut o, &sku1, bought + 1).unwrap_err();
        assert_eq!(errs[0].field, "lines[0].quantity");
        assert_eq!(ask(&mut o, "nope", 1).unwrap_err()[0].field, "lines[0].sku");
        let (patch, id) = ask(&mut o, &sku1, bought).unwrap();
        assert_eq!(id, "ret_1");
        assert!(patch.sets.iter().any(|(p, _)| p == "returns"));
        assert!(patch.guards.iter().any(|(p, _)| p == "returns_version"), "two requests never overwrite each other");
        // what is held is no longer returnable
        assert_eq!(o.returnable(&sku1), 0);
        assert!(ask(&mut o, &sku1, 1).is_err());
    }

    #[test]
    fn received_units_are_refunded_at_what_they_were_paid_and_cod_needs_an_iban() {
        let mut o = delivered(1);
        let sku = o.lines[1].sku.clone();
        let (_, id) = ask(&mut o, &sku, 2).unwrap();
        assert!(o.refund_return(&id, None, false, Utc::now()).is_err(), "not received yet");
        o.approve_return(&id, Utc::now()).unwrap();
        let errs = o.receive_return(&id, &[ReceivedLine { sku: sku.clone(), quantity: 3, condition: String::new() }], Utc::now()).unwrap_err();
        assert_eq!(errs[0].field, "lines[0].quantity");
        o.receive_return(&id, &[ReceivedLine { sku: sku.clone(), quantity: 1, condition: "sealed".into() }], Utc::now()).unwrap();
        let unit = (o.lines[1].line_total.amount - o.lines[1].discount_cents) / o.lines[1].quantity;
        assert_eq!(o.return_value(&id), unit);
        assert_eq!(o.refund_return(&id, None, false, Utc::now()).unwrap_err()[0].field, "iban");
        let (_, refund) = o.refund_return(&id, Some("RO49 AAAA 1B31 0075 9384 0000"), false, Utc::now()).unwrap();
        assert_eq!(o.payment.refunded_cents, unit);
        let r = &o.returns[0];
        assert_eq!((r.status, r.refund_id.as_deref(), r.refund_cents), (ReturnStatus::Refunded, Some(refund.as_str()), unit));
        assert_eq!(r.received_units(), vec![(sku, 1)]);
    }
}
