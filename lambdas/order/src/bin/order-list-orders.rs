//! Lambda `list-orders`.
shop_core::http_main!(order::Orders::from_env(), order::list_orders);
