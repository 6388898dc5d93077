//! Lambda `list-banners`.
shop_core::http_main!(banner::Banners::from_env(), banner::list_banners);
