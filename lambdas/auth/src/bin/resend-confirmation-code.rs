//! Lambda `resend-confirmation-code`.
auth::auth_main!(auth::resend_confirmation_code);
