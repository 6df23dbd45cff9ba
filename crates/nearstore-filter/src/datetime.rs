//! Points in time for datetime conditions and the datetime payload index: [`Datetime`] (an
//! instant, microseconds since the Unix epoch, UTC) parsed from the strings Qdrant accepts,
//! and [`DatetimeRange`] (Qdrant's `datetime_range`: any of `gt` / `gte` / `lt` / `lte`).
//!
//! Parsing goes through `jiff`: first as an instant with an offset (RFC 3339 / ISO 8601:
//! `2024-03-01T12:30:00Z`, `2024-03-01T12:30:00.123456+01:00`, `2024-03-01 12:30:00-0500`,
//! lowercase `t`/`z`), then as a civil date-time without offset, read as UTC
//! (`2024-03-01T12:30:00`, `2024-03-01 12:30`, `2024-03-01` = midnight UTC). Leading or
//! trailing whitespace, numbers and other shapes are not datetimes. Sub-microsecond digits
//! are truncated toward the past (the index key is whole microseconds, as Qdrant's).

use std::fmt;
use std::ops::RangeInclusive;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant: whole microseconds since 1970-01-01T00:00:00Z (negative before it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Datetime(i64);

impl Datetime {
    /// The instant `micros` microseconds after the Unix epoch; `None` outside the years
    /// -9999..=9999 (what the parser can produce and print).
    pub fn from_micros(micros: i64) -> Option<Datetime> {
        Timestamp::from_microsecond(micros)
            .ok()
            .map(|_| Datetime(micros))
    }

    /// Microseconds since the Unix epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Reads an RFC 3339 / ISO 8601 datetime, with or without offset (without: UTC), or a
    /// date alone (midnight UTC); `None` for anything else. See the module docs.
    pub fn parse(text: &str) -> Option<Datetime> {
        let instant = match text.parse::<Timestamp>() {
            Ok(t) => t,
            Err(_) => {
                let civil: DateTime = text.parse().ok()?;
                civil.to_zoned(TimeZone::UTC).ok()?.timestamp()
            }
        };
        let nanos = instant.as_nanosecond();
        let micros = nanos.div_euclid(1_000);
        i64::try_from(micros).ok().and_then(Datetime::from_micros)
    }

    /// The instant of a JSON value when it is a string that parses as one.
    pub fn of_value(value: &serde_json::Value) -> Option<Datetime> {
        value.as_str().and_then(Datetime::parse)
    }
}

impl fmt::Display for Datetime {
    /// RFC 3339 in UTC with the fraction only when non-zero (`2024-03-01T12:30:00.5Z`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Timestamp::from_microsecond(self.0) {
            Ok(t) => write!(f, "{t}"),
            // Unreachable: every `Datetime` is built through `from_micros`' range check.
            Err(_) => write!(f, "{}us", self.0),
        }
    }
}

impl Serialize for Datetime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Datetime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Datetime::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a datetime: {text:?}")))
    }
}

/// Bounds on a datetime field (Qdrant's `datetime_range`); each bound is optional and all
/// given ones must hold. A range with no bound matches every value that is a datetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatetimeRange {
    /// Strictly after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<Datetime>,
    /// At or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<Datetime>,
    /// Strictly before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<Datetime>,
    /// At or before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<Datetime>,
}

impl DatetimeRange {
    /// Whether `t` satisfies every bound.
    pub fn contains(&self, t: Datetime) -> bool {
        self.micros().is_some_and(|r| r.contains(&t.0))
    }

    /// The bounds as one inclusive range of microseconds; `None` when no instant satisfies
    /// them.
    pub(crate) fn micros(&self) -> Option<RangeInclusive<i64>> {
        let lo = [
            self.gt.map(|t| i128::from(t.0) + 1),
            self.gte.map(|t| i128::from(t.0)),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(i128::from(i64::MIN));
        let hi = [
            self.lt.map(|t| i128::from(t.0) - 1),
            self.lte.map(|t| i128::from(t.0)),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(i128::from(i64::MAX));
        let lo = i64::try_from(lo).ok()?;
        let hi = i64::try_from(hi).ok()?;
        (lo <= hi).then_some(lo..=hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        Datetime::parse(s).map(Datetime::micros).unwrap_or(i64::MIN)
    }

    #[test]
    fn parses_the_forms_qdrant_accepts() {
        let noon = 1_709_296_200_000_000; // 2024-03-01T12:30:00Z
        assert_eq!(at("2024-03-01T12:30:00Z"), noon);
        assert_eq!(at("2024-03-01t12:30:00z"), noon);
        assert_eq!(at("2024-03-01T13:30:00+01:00"), noon);
        assert_eq!(at("2024-03-01 07:30:00-0500"), noon);
        assert_eq!(at("2024-03-01T12:30:00"), noon);
        assert_eq!(at("2024-03-01 12:30"), noon);
        assert_eq!(at("2024-03-01T12:30:00.25Z"), noon + 250_000);
        assert_eq!(at("2024-03-01T12:30:00.000001999Z"), noon + 1);
        assert_eq!(at("2024-03-01"), 1_709_251_200_000_000);
        assert_eq!(at("1969-12-31T23:59:59.9999995Z"), -1);
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-03-01T25:00:00Z",
            " 2024-03-01",
            "1",
        ] {
            assert_eq!(Datetime::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn prints_rfc3339_utc_and_round_trips() {
        let t = Datetime::parse("2024-03-01T13:30:00.5+01:00");
        assert_eq!(
            t.map(|t| t.to_string()).as_deref(),
            Some("2024-03-01T12:30:00.5Z")
        );
        let back = t.and_then(|t| Datetime::parse(&t.to_string()));
        assert_eq!(back, t);
        assert_eq!(Datetime::from_micros(i64::MAX), None);
    }

    #[test]
    fn range_bounds_combine_and_empty_ranges_match_nothing() {
        let t = |s: &str| Datetime::parse(s);
        let r = DatetimeRange {
            gt: t("2024-01-01"),
            lte: t("2024-02-01"),
            ..DatetimeRange::default()
        };
        assert!(!r.contains(t("2024-01-01").unwrap_or(Datetime(0))));
        assert!(r.contains(t("2024-01-01T00:00:00.000001Z").unwrap_or(Datetime(0))));
        assert!(r.contains(t("2024-02-01").unwrap_or(Datetime(0))));
        let empty = DatetimeRange {
            gt: t("2024-01-01"),
            lt: t("2024-01-01T00:00:00.000001Z"),
            ..DatetimeRange::default()
        };
        assert_eq!(empty.micros(), None);
        assert!(DatetimeRange::default().contains(Datetime(0)));
    }
}
