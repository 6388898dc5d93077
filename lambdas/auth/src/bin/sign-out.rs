//! Lambda `sign-out`.
auth::auth_main!(auth::sign_out);
