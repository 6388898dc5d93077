//! Lambda `image-uploaded`.
shop_core::event_main!(product::Products::from_env(), product::image_uploaded);
