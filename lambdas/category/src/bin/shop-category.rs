//! Every Lambda of the category service: the function's handler setting (`_HANDLER`) picks which
//! one this process serves (see `category::FUNCTIONS`).
shop_core::service_main!(category::Categories::from_env(), category::FUNCTIONS, category::serve);
