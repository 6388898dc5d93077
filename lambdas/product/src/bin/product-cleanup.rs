//! Lambda `cleanup`.
shop_core::event_main!(product::Products::from_env(), product::cleanup);
