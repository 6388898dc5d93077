//! Lambda `list-categories`.
shop_core::http_main!(category::Categories::from_env(), category::list_categories);
