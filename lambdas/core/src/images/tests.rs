use super::*;

#[test]
fn keys_are_url_decoded_with_plus_as_space() {
    assert_eq!(decode_key("summer+sale%281%29.png"), "summer sale(1).png");
    assert_eq!(decode_key("abc/caf%C3%A9.png"), "abc/café.png");
    assert_eq!(decode_key("plain.png"), "plain.png");
}

#[test]
fn formats_are_recognised_by_their_first_bytes_not_their_name() {
    assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(ImageType::Png));
    assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]), Some(ImageType::Jpeg));
    assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(ImageType::Gif));
    assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(ImageType::Webp));
    assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
    assert_eq!(sniff(b"<html><script>"), None);
    assert_eq!(sniff(b"\x89PN"), None);
}

#[test]
fn an_upload_is_accepted_only_within_the_bound_with_matching_type_and_bytes() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(judge(100, Some("image/png"), png, 100), Verdict::Image(ImageType::Png));
    assert_eq!(judge(101, Some("image/png"), png, 100), Verdict::Rejected("too-large"));
    assert_eq!(judge(0, Some("image/png"), b"", 100), Verdict::Rejected("empty"));
    assert_eq!(
        judge(10, Some("text/html"), png, 100),
        Verdict::Rejected("content-type")
    );
    assert_eq!(judge(10, None, png, 100), Verdict::Rejected("content-type"));
    assert_eq!(
        judge(10, Some("image/jpeg"), png, 100),
        Verdict::Rejected("type-mismatch")
    );
    assert_eq!(
        judge(10, Some("image/png"), b"<svg onload=x>", 100),
        Verdict::Rejected("not-an-image")
    );
}

#[test]
fn the_total_size_is_read_from_the_content_range() {
    assert_eq!(total_of_range("bytes 0-15/5242881"), Some(5_242_881));
    assert_eq!(total_of_range("bytes 0-2/3"), Some(3));
    assert_eq!(total_of_range("bytes */*"), None);
}

#[tokio::test]
async fn a_stated_file_size_is_signed_into_the_upload_url() {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("test-region-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("AKIDTEST", "secret", None, None, "test"),
        ))
        .http_client(crate::aws::http_client())
        .build();
    let images = Images {
        s3: aws_sdk_s3::Client::new(&sdk),
        config: UploadConfig {
            bucket: "images".into(),
            image_base_url: "https://cdn.test".into(),
            expires: Duration::from_secs(60),
            max_bytes: DEFAULT_MAX_BYTES,
            metrics_namespace: "Shop/test".into(),
        },
        service: "test",
    };
    let signed = |url: &str| {
        let q = url.split_once('?').map(|x| x.1).unwrap_or_default();
        q.split('&')
            .find_map(|kv| kv.strip_prefix("X-Amz-SignedHeaders="))
            .map(decode_key)
            .unwrap_or_default()
    };
    let sized = images.upload_url("id/a.png", ImageType::Png, Some(1234)).await.unwrap();
    assert!(sized.contains("/uploads/id/a.png?"), "{sized}");
    let headers = signed(&sized);
    assert!(headers.split(';').any(|h| h == "content-length"), "{headers}");
    assert!(headers.split(';').any(|h| h == "content-type"), "{headers}");
    let unbounded = images.upload_url("id/a.png", ImageType::Png, None).await.unwrap();
    assert!(!signed(&unbounded).contains("content-length"));
}

#[test]
fn public_urls_encode_each_segment() {
    assert_eq!(
        public_url("https://cdn.example/", "id/summer sale.png"),
        "https://cdn.example/id/summer%20sale.png"
    );
}
