//! Lambda `refresh-token`.
shop_core::http_main!(auth::Auth::from_env(), auth::refresh_token);
