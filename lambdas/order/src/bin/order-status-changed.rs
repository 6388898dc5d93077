//! Lambda `status-changed` (the Orders table's stream).
shop_core::event_main!(order::Orders::from_env(), order::status_changed);
