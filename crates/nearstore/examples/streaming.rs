use std::time::Duration;

use nearstore::{Database, DistanceMetric, ErrorKind, Point, StreamingConfig};

fn main() -> Result<(), nearstore::Error> {
    let dir = std::env::temp_dir().join(format!("nearstore-streaming-{}", std::process::id()));
    let db = Database::open(&dir)?;
    let events = db.create_collection("events", 2, DistanceMetric::Euclidean)?;
    events.enable_streaming(StreamingConfig {
        buffer_size: 1_000,                        // queued points before backpressure
        batch_size: 100,                           // points applied per drain step
        flush_interval: Duration::from_millis(20), // longest wait of a queued point
    })?;
    for id in 0..5_000u64 {
        let point = Point::new(id, vec![id as f32, 1.0], None);
        match events.stream_insert(point.clone()) {
            Ok(()) => {} // logged: survives a crash like any write in this durability mode
            Err(e) if e.kind() == ErrorKind::Overloaded => {
                // The queue is full: nothing was written. A server answers 429 with
                // Retry-After here; an embedded producer can wait or write directly.
                events.upsert(vec![point])?;
            }
            Err(e) => return Err(e),
        }
    }
    events.flush()?; // applies what is queued (and syncs the log)
    assert_eq!(events.len(), 5_000);
    println!("{:?}", events.streaming_status());
    events.disable_streaming()?; // or drop: the drain thread stops, nothing queued is lost
    drop((events, db));
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
