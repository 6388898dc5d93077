//! Lambda `get-upload-url`.
shop_core::http_main!(product::Products::from_env(), product::get_upload_url);
