//! Lambda `resend-confirmation-code`.
shop_core::http_main!(auth::Auth::from_env(), auth::resend_confirmation_code);
