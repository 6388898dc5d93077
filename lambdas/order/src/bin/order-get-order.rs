//! Lambda `get-order`.
shop_core::http_main!(order::Orders::from_env(), order::get_order);
