//! Lambda `create-order`.
shop_core::http_main!(order::Orders::from_env(), order::create_order);
