//! Lambda `approve-product`.
shop_core::http_main!(product::Products::from_env(), product::approve_product);
