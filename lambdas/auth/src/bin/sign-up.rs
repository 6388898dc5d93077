//! Lambda `sign-up`.
auth::auth_main!(auth::sign_up);
