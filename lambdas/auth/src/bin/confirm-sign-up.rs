//! Lambda `confirm-sign-up`.
auth::auth_main!(auth::confirm_sign_up);
