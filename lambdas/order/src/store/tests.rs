use super::*;

fn keys(ids: &[&str]) -> KeysAndAttributes {
    KeysAndAttributes::builder()
        .set_keys(Some(ids.iter().map(|id| id_key(id)).collect()))
        .build()
        .unwrap()
}

/// DynamoDB's partial answer: the first key of each round, the rest unprocessed.
async fn one_key_per_round(k: KeysAndAttributes) -> Result<(Vec<Item>, Option<KeysAndAttributes>), Upstream> {
    let mut all = k.keys;
    let first = all.remove(0);
    let rest = (!all.is_empty()).then(|| KeysAndAttributes::builder().set_keys(Some(all)).build().unwrap());
    Ok((vec![first], rest))
}

#[tokio::test]
async fn keys_left_unprocessed_are_asked_again_until_every_one_is_read() {
    let mut rounds = 0;
    let items = read_all(keys(&["a", "b", "c"]), |k| {
        rounds += 1;
        one_key_per_round(k)
    })
    .await
    .unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_s().unwrap().as_str()).collect();
    assert_eq!((ids, rounds), (vec!["a", "b", "c"], 3));
}

#[tokio::test]
async fn keys_still_unprocessed_after_every_round_are_a_503_not_a_partial_answer() {
    let mut rounds = 0;
    let many: Vec<String> = (0..9).map(|i| format!("p{i}")).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let out = read_all(keys(&refs), |k| {
        rounds += 1;
        one_key_per_round(k)
    })
    .await;
    assert!(
        matches!(out, Err(ref e) if shop_core::ApiError::status(e) == 503),
        "{out:?}"
    );
    assert_eq!(rounds, BATCH_ATTEMPTS);
}
