//! Lambda `pending-products`.
shop_core::http_main!(product::Products::from_env(), product::pending_products);
