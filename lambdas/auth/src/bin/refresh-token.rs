//! Lambda `refresh-token`.
auth::auth_main!(auth::refresh_token);
