//! Every Lambda of the auth service: the function's handler setting (`_HANDLER`) picks which
//! one this process serves (see `auth::FUNCTIONS`).
shop_core::service_main!(auth::Auth::from_env(), auth::FUNCTIONS, auth::serve);
