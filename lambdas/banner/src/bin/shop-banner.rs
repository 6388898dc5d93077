//! Every Lambda of the banner service: the function's handler setting (`_HANDLER`) picks which
//! one this process serves (see `banner::FUNCTIONS`).
shop_core::service_main!(banner::Banners::from_env(), banner::FUNCTIONS, banner::serve);
