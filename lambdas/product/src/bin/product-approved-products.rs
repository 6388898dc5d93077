//! Lambda `approved-products`.
shop_core::http_main!(product::Products::from_env(), product::approved_products);
