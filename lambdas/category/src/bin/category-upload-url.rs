//! Lambda `upload-url` (admin).
shop_core::http_main!(category::Categories::from_env(), category::upload_url);
