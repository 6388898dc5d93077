//! Every Lambda of the order service: the function's handler setting (`_HANDLER`) picks which
//! one this process serves (see `order::FUNCTIONS`).
shop_core::service_main!(order::Orders::from_env(), order::FUNCTIONS, order::serve);
