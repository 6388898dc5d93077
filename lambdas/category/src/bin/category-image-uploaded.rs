//! Lambda `image-uploaded` (S3 ObjectCreated).
shop_core::event_main!(category::Categories::from_env(), category::image_uploaded);
