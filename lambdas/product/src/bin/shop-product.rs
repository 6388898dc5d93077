//! Every Lambda of the product service: the function's handler setting (`_HANDLER`) picks which
//! one this process serves (see `product::FUNCTIONS`).
shop_core::service_main!(product::Products::from_env(), product::FUNCTIONS, product::serve);
