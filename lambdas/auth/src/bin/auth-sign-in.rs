//! Lambda `sign-in`.
shop_core::http_main!(auth::Auth::from_env(), auth::sign_in);
