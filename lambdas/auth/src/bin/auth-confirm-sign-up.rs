//! Lambda `confirm-sign-up`.
shop_core::http_main!(auth::Auth::from_env(), auth::confirm_sign_up);
