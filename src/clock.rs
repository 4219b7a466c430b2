//! Business time. Everything that AD or the cloud stamps (whenChanged, pwdLastSet,
//! lockoutTime, token expiry) reads this clock, never `SystemTime::now()`, so a scenario can
//! run on a virtual clock and a 60-second deadline costs nothing. Schedules (the engine's
//! sync cycles, token renewals) wait on it with [`Clock::sleep_until`].

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// A source of "now" for business time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Let `d` of business time pass: the system clock sleeps, a virtual clock moves at
    /// once (so a 60-second relay deadline costs nothing in a scenario).
    fn elapse(&self, d: std::time::Duration) -> BoxFuture<'static, ()>;

    /// Wait until business time reaches `t`. The system clock sleeps. A virtual clock wakes
    /// its sleepers when its owner moves it ([`ManualClock::advance`], [`ManualClock::set`]);
    /// time an operation lets pass with `elapse` (a latency, a Retry-After) is seen by
    /// sleepers at the owner's next move, so what a schedule does never races a step.
    fn sleep_until(&self, t: DateTime<Utc>) -> BoxFuture<'static, ()>;
}

/// Wall-clock time, for the standalone directory and the lab.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn elapse(&self, d: std::time::Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            // Checked again after each sleep: the wall clock may be set back meanwhile.
            while let Ok(left) = (t - Utc::now()).to_std() {
                if left.is_zero() {
                    break;
                }
                tokio::time::sleep(left).await;
            }
        })
    }
}

/// The system clock shifted by an offset its owner may change: a lab provisions its forest
/// "a month ago" (so passwords are past the minimum age, as in a real domain) and then runs
/// on real time.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    offset: Arc<Mutex<Duration>>,
}

impl OffsetClock {
    pub fn new(offset: Duration) -> Self {
        Self {
            offset: Arc::new(Mutex::new(offset)),
        }
    }

    pub fn set_offset(&self, offset: Duration) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) = offset;
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }

    fn elapse(&self, d: std::time::Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d))
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let clock = self.clone();
        Box::pin(async move {
            // Checked again after each sleep: the offset or the wall clock may move.
            while let Ok(left) = (t - clock.now()).to_std() {
                if left.is_zero() {
                    break;
                }
                tokio::time::sleep(left.min(std::time::Duration::from_secs(60))).await;
            }
        })
    }
}

/// A clock that only moves when told to: scenarios own one of these.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
    /// The time as of the owner's last move: what sleepers wake on.
    announced: Arc<watch::Sender<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
            announced: Arc::new(watch::channel(start).0),
        }
    }

    /// The fixed start of every scenario: 2026-01-05 09:00:00 UTC (a Monday morning).
    pub fn scenario_start() -> Self {
        // The literal date is valid, so `single()` always yields a value.
        let start = Utc
            .with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
            .single()
            .unwrap_or_default();
        Self::new(start)
    }

    /// Now, without going through the `Clock` trait.
    pub fn now_utc(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Move time forward (or back) and wake the sleepers whose time has come.
    pub fn advance(&self, by: Duration) {
        let now = self.pass(by);
        self.announced.send_replace(now);
    }

    /// Set the time and wake the sleepers whose time has come.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
        self.announced.send_replace(to);
    }

    /// Let time pass without waking anyone (an operation's own latency).
    fn pass(&self, by: Duration) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        // Time that would run past what a date can hold stops at its end instead of
        // panicking.
        *now = now
            .checked_add_signed(by)
            .unwrap_or(if by < Duration::zero() {
                DateTime::<Utc>::MIN_UTC
            } else {
                DateTime::<Utc>::MAX_UTC
            });
        *now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn elapse(&self, d: std::time::Duration) -> BoxFuture<'static, ()> {
        self.pass(Duration::from_std(d).unwrap_or(Duration::MAX));
        Box::pin(std::future::ready(()))
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> BoxFuture<'static, ()> {
        let mut announced = self.announced.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; once it is gone nothing will move it.
            let _ = announced.wait_for(|now| *now >= t).await;
        })
    }
}

/// Seconds between 1601-01-01 (the Windows FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET_SECS: i64 = 11_644_473_600;

/// AD's "large integer" time: 100-nanosecond intervals since 1601-01-01 UTC
/// (MS-ADTS 2.2.21 / FILETIME), as pwdLastSet, lockoutTime and badPasswordTime store it.
pub fn to_filetime(t: DateTime<Utc>) -> i64 {
    (t.timestamp() + FILETIME_UNIX_OFFSET_SECS) * 10_000_000
        + i64::from(t.timestamp_subsec_nanos() / 100)
}

/// The inverse of [`to_filetime`]; `None` for values before 1970 or out of range.
pub fn from_filetime(ft: i64) -> Option<DateTime<Utc>> {
    let secs = ft.div_euclid(10_000_000) - FILETIME_UNIX_OFFSET_SECS;
    let nanos = (ft.rem_euclid(10_000_000) * 100) as u32;
    DateTime::from_timestamp(secs, nanos)
}

/// AD's GeneralizedTime as whenCreated/whenChanged show it: `20261125215640.0Z`.
pub fn generalized_time(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // Written digit by digit: every add and modify stamps one, and chrono's `format`
    // parses its pattern each time. A year outside four digits keeps chrono's spelling.
    let year = match u32::try_from(t.year()) {
        Ok(year) if year <= 9999 => year,
        _ => return t.format("%Y%m%d%H%M%S.0Z").to_string(),
    };
    // A leap second is chrono's 59th with a second's worth of nanoseconds.
    let second = t.second() + u32::from(t.nanosecond() >= 1_000_000_000);
    let mut out = String::with_capacity(17);
    let mut digits = |v: u32, n: u32| {
        for place in (0..n).rev() {
            let d = (v / 10u32.pow(place)) % 10;
            out.push(char::from(b'0' + d as u8));
        }
    };
    digits(year, 4);
    for v in [t.month(), t.day(), t.hour(), t.minute(), second] {
        digits(v, 2);
    }
    out.push_str(".0Z");
    out
}

/// An AD interval (negative 100-ns units, as minPwdAge stores it) as a duration.
pub fn ad_interval(v: i64) -> Duration {
    Duration::microseconds(v.unsigned_abs().min(i64::MAX as u64) as i64 / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_round_trips_and_matches_windows_epoch() {
        let t = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(to_filetime(t), 116_444_736_000_000_000);
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 21, 56, 40).unwrap();
        assert_eq!(from_filetime(to_filetime(t)), Some(t));
        assert_eq!(generalized_time(t), "20261125215640.0Z");
    }

    #[test]
    fn generalized_time_is_what_chrono_writes_for_any_time() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|t| t.and_utc());
        let times = [
            Utc.with_ymd_and_hms(1601, 1, 1, 0, 0, 0).single(),
            Utc.with_ymd_and_hms(5, 2, 3, 4, 5, 6).single(),
            Utc.with_ymd_and_hms(2026, 12, 6, 9, 7, 3).single(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).single(),
            Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0).single(),
            leap,
        ];
        for t in times.into_iter().flatten() {
            assert_eq!(
                generalized_time(t),
                t.format("%Y%m%d%H%M%S.0Z").to_string(),
                "{t:?}"
            );
        }
        assert_eq!(times.iter().flatten().count(), 7);
    }

    #[tokio::test]
    async fn a_virtual_clock_wakes_sleepers_when_its_owner_moves_it_not_on_elapse() {
        use futures::FutureExt;
        let clock = ManualClock::scenario_start();
        let due = clock.now_utc() + Duration::minutes(30);
        let mut sleeper = clock.sleep_until(due);
        assert!((&mut sleeper).now_or_never().is_none());
        clock.elapse(std::time::Duration::from_secs(3600)).await;
        assert!(
            (&mut sleeper).now_or_never().is_none(),
            "latency passes time without waking the schedule"
        );
        clock.advance(Duration::zero());
        // Past the end of representable time: the clock stops there, no panic.
        clock.advance(Duration::MAX);
        assert_eq!(clock.now_utc(), DateTime::<Utc>::MAX_UTC);
        assert!((&mut sleeper).now_or_never().is_some());
        assert!(
            clock.sleep_until(due).now_or_never().is_some(),
            "already due"
        );
    }

    #[test]
    fn ad_intervals_are_negative_hundred_nanoseconds() {
        assert_eq!(ad_interval(-864_000_000_000), Duration::days(1));
        assert_eq!(ad_interval(-18_000_000_000), Duration::minutes(30));
    }
}
