//! Returns (the right of withdrawal): asked by the shopper, approved,
//! received and refunded by the shop. Each step is one write of the order's
//! returns (and, for the refund, its payment) guarded by what it read; the
//! stock of received units goes back by a task written with the receipt.
use chrono::Utc;

use crate::domain::order::{Order, OrderStatus};
use crate::domain::patch::Patch;
use crate::domain::returns::{ReceivedLine, ReturnRequest, ReturnStatus};
use crate::domain::user::FieldError;
use crate::ports::StoreError;

use super::orders::{OrderError, OrderService};

impl OrderService {
    /// One guarded step on an order's returns, read again when another write came first.
    async fn return_step(&self, order_id: &str, step: impl Fn(&mut Order) -> Result<Patch, Vec<FieldError>>) -> Result<Order, OrderError> {
        for _ in 0..5 {
            let seen = self.orders.order_by_id(order_id).await?.filter(|o| o.status != OrderStatus::Pending).ok_or(OrderError::NotFound)?;
            let mut order = seen.clone();
            let patch = step(&mut order).map_err(OrderError::Invalid)?;
            if self.write(&seen, &order, &patch).await? {
                return Ok(order);
            }
        }
        Err(StoreError::Unavailable("the order is changing too fast; try again".into()).into())
    }

    /// The shopper asks to return units (the caller checked they may see the order).
    pub async fn request_return(&self, order_id: &str, req: &ReturnRequest) -> Result<Order, OrderError> {
        self.return_step(order_id, |o| o.request_return(req, Utc::now()).map(|(p, _)| p)).await
    }

    pub async fn approve_return(&self, order_id: &str, return_id: &str) -> Result<Order, OrderError> {
        self.return_step(order_id, |o| o.approve_return(return_id, Utc::now()).map_err(|e| vec![e])).await
    }

    pub async fn reject_return(&self, order_id: &str, return_id: &str, note: &str) -> Result<Order, OrderError> {
        self.return_step(order_id, |o| o.reject_return(return_id, note, Utc::now()).map_err(|e| vec![e])).await
    }

    /// The parcel arrived; its units go back into stock (at once, and by the task written with it).
    pub async fn receive_return(&self, order_id: &str, return_id: &str, lines: &[ReceivedLine]) -> Result<Order, OrderError> {
        self.return_step(order_id, |o| o.receive_return(return_id, lines, Utc::now())).await
    }

    /// Refunds a received return: to the card through the provider, otherwise
    /// recorded as paid by hand to the IBAN the shopper gave. The refund and
    /// the return's new state are one write; a credit note follows.
    pub async fn refund_return(&self, order_id: &str, return_id: &str, iban: Option<&str>) -> Result<Order, OrderError> {
        for _ in 0..5 {
            let seen = self.orders.order_by_id(order_id).await?.filter(|o| o.status != OrderStatus::Pending).ok_or(OrderError::NotFound)?;
            let mut order = seen.clone();
            let through_provider = self.refunds_through_provider(&order);
            let (patch, refund_id) = order.refund_return(return_id, iban, through_provider, Utc::now()).map_err(OrderError::Invalid)?;
            if !self.write(&seen, &order, &patch).await? {
                continue;
            }
            if through_provider {
                return self.send_refund(order, &refund_id).await;
            }
            return Ok(order);
        }
        Err(StoreError::Unavailable("the order is changing too fast; try again".into()).into())
    }

    /// Puts a received return's units back into stock, once per return and SKU.
    pub async fn restock_return(&self, order_id: &str, return_id: &str) -> Result<(), OrderError> {
        let Some(order) = self.orders.order_by_id(order_id).await? else { return Ok(()) };
        let Some(r) = order.returns.iter().find(|r| r.id == return_id && r.received_at.is_some() && r.status != ReturnStatus::Rejected) else { return Ok(()) };
        // its own key: the order's cancellation give-back is another
        let key = format!("{}#{}", order.id, r.id);
        for (sku, qty) in r.received_units() {
            self.inventory.restock(&key, &sku, qty).await?;
        }
        let ids: Vec<String> = order.lines.iter().filter(|l| r.lines.iter().any(|x| x.sku == l.sku && x.received > 0)).map(|l| l.product_id.clone()).collect();
        self.sync_stock(&ids).await?;
        Ok(())
    }

    /// Returns waiting for the shop (requested, approved or received), oldest refund deadline first.
    pub async fn open_returns(&self, limit: u64) -> Result<Vec<(Order, crate::domain::returns::Return)>, OrderError> {
        let (orders, _) = self.orders.list_orders(&crate::ports::OrderFilter { with_open_returns: true, ..Default::default() }, 0, limit).await?;
        let mut out: Vec<(Order, crate::domain::returns::Return)> = orders.into_iter().flat_map(|o| o.returns.iter().filter(|r| r.is_open()).cloned().map(|r| (o.clone(), r)).collect::<Vec<_>>()).collect();
        out.sort_by_key(|(_, r)| r.refund_due);
        Ok(out)
    }
}
