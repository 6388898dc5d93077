//! Lambda `reject-product`.
shop_core::http_main!(product::Products::from_env(), product::reject_product);
