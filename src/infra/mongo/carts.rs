//! The cart port on MongoDB.
//!
//! * **carts**: `{_id: owner, doc: <Cart>, version, updated_at}`; a save is
//!   an insert (version 1) or a `replace_one` guarded by the previous
//!   version.
use async_trait::async_trait;
use mongodb::bson::doc;

use super::codec::{cart_document, decode_cart};
use super::{is_duplicate_key, map_error, MongoStore};
use crate::domain::order::Cart;
use crate::ports::{CartStore, StoreError};

#[async_trait]
impl CartStore for MongoStore {
    async fn cart(&self, owner: &str) -> Result<Option<Cart>, StoreError> {
        let found = self
            .carts
            .find_one(doc! { "_id": owner })
            .projection(doc! { "doc": 1 })
            .await
            .map_err(|e| map_error("read cart", e))?;
        found.map(decode_cart).transpose().map_err(StoreError::Other)
    }

    async fn save_cart(&self, cart: &Cart) -> Result<(), StoreError> {
        if cart.version < 1 {
            return Err(StoreError::Other(format!("cart {:?}: version {} is not a saved version", cart.owner, cart.version)));
        }
        let document = cart_document(cart)?;
        if cart.version == 1 {
            return match self.carts.insert_one(document).await {
                Ok(_) => Ok(()),
                Err(e) if is_duplicate_key(&e) => Err(cart_conflict(cart)),
                Err(e) => Err(map_error("save cart", e)),
            };
        }
        let result = self
            .carts
            .replace_one(doc! { "_id": cart.owner.as_str(), "version": cart.version - 1 }, document)
            .await
            .map_err(|e| map_error("save cart", e))?;
        if result.matched_count == 0 {
            return Err(cart_conflict(cart));
        }
        Ok(())
    }

    async fn delete_cart(&self, owner: &str) -> Result<(), StoreError> {
        self.carts
            .delete_one(doc! { "_id": owner })
            .await
            .map_err(|e| map_error("delete cart", e))?;
        Ok(())
    }
}

fn cart_conflict(cart: &Cart) -> StoreError {
    StoreError::Conflict(format!("cart {:?} was saved by someone else (version {})", cart.owner, cart.version))
}
