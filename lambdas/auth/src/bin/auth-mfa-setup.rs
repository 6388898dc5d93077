//! Lambda `mfa-setup`.
shop_core::http_main!(auth::Auth::from_env(), auth::mfa_setup);
