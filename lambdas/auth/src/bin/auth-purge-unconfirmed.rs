//! Lambda `purge-unconfirmed` (EventBridge schedule).
shop_core::event_main!(auth::Auth::from_env(), auth::purge_unconfirmed);
