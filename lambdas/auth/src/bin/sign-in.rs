//! Lambda `sign-in`.
auth::auth_main!(auth::sign_in);
