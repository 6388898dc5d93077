//! Lambda `queue-consumer`.
shop_core::event_main!(order::Orders::from_env(), order::queue_consumer);
