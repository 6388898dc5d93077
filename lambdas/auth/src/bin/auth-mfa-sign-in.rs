//! Lambda `mfa-sign-in`.
shop_core::http_main!(auth::Auth::from_env(), auth::mfa_sign_in);
