//! Lambda `image-uploaded` (S3 ObjectCreated).
shop_core::event_main!(banner::Banners::from_env(), banner::image_uploaded);
