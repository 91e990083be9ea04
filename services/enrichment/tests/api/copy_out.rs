//! The binary COPY reader decodes every value exactly as sqlx's row decoding does.

use chrono::{DateTime, Utc};
use gigcover_enrichment::copy_out::{self, CopyRows};
use gigcover_testkit::TestDatabase;
use rust_decimal::Decimal;
use uuid::Uuid;

type Row = (Uuid, String, DateTime<Utc>, Option<Decimal>, Option<String>, i32);

const VALUES: &str = "SELECT gen_random_uuid() AS id, 'zürich-' || i AS name,
        timestamptz '1999-12-31 23:59:59.999999Z' + i * interval '7 hours 13 minutes 1.000001 seconds' AS at,
        (ARRAY[NULL, 0, 0.00, -0.5, 12.50, 3.5, 1000000, 99999999.9999, 0.0001, -123456789.123456789, 20000,
               1e20, 7.10])[1 + i % 13]::numeric * (1 + i % 3) AS amount,
        CASE WHEN i % 4 = 0 THEN NULL ELSE 'EUR' END AS currency, i - 500 AS n
 FROM generate_series(0, 999) i ORDER BY i";

#[tokio::test]
async fn copy_rows_decode_as_sqlx_does() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE TABLE sample AS {VALUES}"))).execute(&pool).await.unwrap();
    let select = "SELECT * FROM sample ORDER BY n";
    let by_sqlx: Vec<Row> = sqlx::query_as(select).fetch_all(&pool).await.unwrap();

    let mut conn = pool.acquire().await.unwrap();
    let mut rows = CopyRows::start(&mut conn, select).await.unwrap();
    let mut by_copy: Vec<Row> = Vec::new();
    while let Some(row) = rows
        .next(|f| {
            Ok((
                f.required(copy_out::uuid)?,
                f.required(copy_out::text)?,
                f.required(copy_out::timestamptz)?,
                f.optional(copy_out::numeric)?,
                f.optional(copy_out::text)?,
                f.required(copy_out::int4)?,
            ))
        })
        .await
        .unwrap()
    {
        by_copy.push(row);
    }
    drop(rows);
    // The connection is left ready for the next statement.
    let after: Vec<i32> =
        sqlx::query_scalar("SELECT n FROM sample WHERE n < -497 ORDER BY n").fetch_all(&mut *conn).await.unwrap();
    assert_eq!(after, [-500, -499, -498]);
    assert_eq!(by_copy.len(), 1000);
    for (copied, decoded) in by_copy.iter().zip(&by_sqlx) {
        assert_eq!(copied, decoded);
        // Equal decimals may differ in scale, which shows when they are written back.
        assert_eq!(copied.3.map(|d| d.to_string()), decoded.3.map(|d| d.to_string()), "{decoded:?}");
    }
}

#[tokio::test]
async fn a_null_where_a_value_is_required_is_an_error() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    let mut conn = pool.acquire().await.unwrap();
    // Left in the middle of the COPY: not for the pool again.
    conn.close_on_drop();
    let mut rows = CopyRows::start(&mut conn, "SELECT NULL::int").await.unwrap();
    let err = rows.next(|f| f.required(copy_out::int4)).await.unwrap_err();
    assert!(err.to_string().contains("NULL"), "{err}");
}
