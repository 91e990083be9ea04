//! How long to wait before trying again after consecutive failures: 1, 2, 4 ... seconds,
//! at most 4096 (about an hour). Used by every outbound delivery we retry (insurers'
//! webhooks, alert notifications).

pub fn backoff_secs(failures: i32) -> i64 {
    1i64 << failures.clamp(0, 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_about_an_hour() {
        assert_eq!((backoff_secs(0), backoff_secs(1), backoff_secs(5)), (1, 2, 32));
        assert_eq!(backoff_secs(40), 4096);
        assert_eq!(backoff_secs(-3), 1);
    }
}
