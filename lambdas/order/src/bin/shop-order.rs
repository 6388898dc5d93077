//! Every Lambda of the order service: the function's handler setting (`_HANDLER`) picks which
//! one this process serves (see `order::FUNCTIONS`).
// `main` awaits every order function's future (the SDK's retrying calls nested in the pipeline's
// steps); computing that future's layout from a cold build needs more than rustc's default 128
// query levels (an incremental build reuses the layouts and hides it).
#![recursion_limit = "256"]
shop_core::service_main!(order::Orders::from_env(), order::FUNCTIONS, order::serve);
