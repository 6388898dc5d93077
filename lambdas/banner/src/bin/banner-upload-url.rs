//! Lambda `upload-url` (admin).
shop_core::http_main!(banner::Banners::from_env(), banner::upload_url);
