//! The binary COPY reader decodes every value exactly as sqlx's row decoding does, and the
//! writer stores every value exactly as a statement with bound parameters does.

use chrono::{DateTime, Utc};
use gigcover_enrichment::copy_in::CopyRowsIn;
use gigcover_enrichment::copy_out::{self, CopyRows};
use gigcover_testkit::TestDatabase;
use rust_decimal::Decimal;
use uuid::Uuid;

type Row = (Uuid, String, DateTime<Utc>, Option<String>, i32);

const VALUES: &str = "SELECT gen_random_uuid() AS id, 'zürich-' || i AS name,
        timestamptz '1999-12-31 23:59:59.999999Z' + i * interval '7 hours 13 minutes 1.000001 seconds' AS at,
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
                f.required(copy_out::text)?.to_owned(),
                f.required(copy_out::timestamptz)?,
                f.optional(copy_out::text)?.map(str::to_owned),
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
    assert_eq!(by_copy, by_sqlx);
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

#[tokio::test]
async fn copy_rows_in_store_what_a_statement_stores() {
    let db = TestDatabase::create().await;
    let pool = db.pool().await;
    for table in ["by_copy", "by_statement"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {table} (n int, id uuid, day date, name text, ms bigint, yes bool, amount numeric, doc json)"
        )))
        .execute(&pool)
        .await
        .unwrap();
    }
    let amounts = ["0", "0.00", "-0.5", "12.50", "99999999.9999", "0.0001", "-123456789.123456789", "1e20"];
    let mut out = CopyRowsIn::new();
    for (n, amount) in amounts.iter().enumerate() {
        let n = n as i32;
        let id = Uuid::from_u128(n as u128 * 7919);
        let day = chrono::NaiveDate::from_ymd_opt(1999, 12, 31).unwrap() + chrono::Duration::days(i64::from(n) * 400);
        let name = format!("zürich\t{n}");
        let ms = i64::from(n) * -86_400_000_123;
        let amount: Option<Decimal> = (n != 2).then(|| amount.parse().unwrap());
        let doc = format!(r#"{{"a\\b": [{n}, "\t"]}}"#);
        out.row(8);
        out.field(&n).unwrap();
        out.field(&id).unwrap();
        out.field(&day).unwrap();
        out.field(&name).unwrap();
        out.field(&ms).unwrap();
        out.field(&(n % 2 == 0)).unwrap();
        out.field(&amount).unwrap();
        out.field(&doc).unwrap();
        sqlx::query("INSERT INTO by_statement VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::json)")
            .bind(n)
            .bind(id)
            .bind(day)
            .bind(&name)
            .bind(ms)
            .bind(n % 2 == 0)
            .bind(amount)
            .bind(&doc)
            .execute(&pool)
            .await
            .unwrap();
    }
    let mut conn = pool.acquire().await.unwrap();
    let mut copy = conn.copy_in_raw("COPY by_copy FROM STDIN (FORMAT binary)").await.unwrap();
    copy.send(out.finish()).await.unwrap();
    assert_eq!(copy.finish().await.unwrap(), amounts.len() as u64);
    let dump = |table: &str| {
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
            "SELECT string_agg(t::text, E'\\n' ORDER BY n) FROM {table} t"
        )))
        .fetch_one(&pool)
    };
    let (copied, stated) = (dump("by_copy").await.unwrap(), dump("by_statement").await.unwrap());
    assert_eq!(copied, stated);
    assert!(copied.contains("12.50") && copied.contains("zürich"), "{copied}");
}
