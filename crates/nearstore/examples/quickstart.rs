use nearstore::{Database, DistanceMetric, FieldIndexKind, Filter, Point, SearchRequest};
use serde_json::json;

fn main() -> Result<(), nearstore::Error> {
    let dir = std::env::temp_dir().join(format!("nearstore-quickstart-{}", std::process::id()));
    let db = Database::open(&dir)?; // creates the directory, or recovers it
    let docs = db.create_collection("docs", 3, DistanceMetric::Cosine)?;
    docs.upsert(vec![
        Point::new(
            1,
            vec![1.0, 0.0, 0.0],
            Some(json!({"lang": "en", "year": 2024})),
        ),
        Point::new(
            2,
            vec![0.9, 0.1, 0.0],
            Some(json!({"lang": "fr", "year": 2021})),
        ),
        Point::new(
            3,
            vec![0.0, 1.0, 0.0],
            Some(json!({"lang": "en", "year": 2019})),
        ),
    ])?;

    let hits = docs.search(&[1.0, 0.05, 0.0], 2)?; // best first (cosine: similarity)
    assert_eq!(hits[0].point.id, 1);

    docs.create_field_index("lang", FieldIndexKind::Keyword)?; // optional: faster filters
    let english = Filter::parse(&json!({"field": "lang", "eq": "en"}))?;
    let request = SearchRequest::new(&[0.9, 0.1, 0.0])
        .limit(2)
        .filter(english);
    let hits = docs.query(request)?;
    assert_eq!(
        hits.iter().map(|h| h.point.id).collect::<Vec<_>>(),
        vec![1, 3]
    );
    println!(
        "{}",
        serde_json::to_string_pretty(&hits).unwrap_or_default()
    );

    docs.flush()?; // durability barrier: everything above survives power loss
    drop((docs, db));
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
