//! Lambda `cleanup` (EventBridge schedule).
shop_core::event_main!(category::Categories::from_env(), category::cleanup);
