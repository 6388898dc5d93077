//! Lambda `reconcile` (scheduled).
shop_core::event_main!(order::Orders::from_env(), order::reconcile);
