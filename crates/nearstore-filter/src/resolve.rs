//! Answering a filter from the payload indexes: [`PayloadIndexes::resolve`].
//!
//! Every sub-filter is resolved to a pair of id sets inside the universe: `sure` (ids known
//! to match) and `possible` (ids that may match; `sure ⊆ possible`). Three-valued logic
//! combines them exactly: `and` intersects both, `or` unions both, `not` swaps them against
//! the universe. A condition on an unindexed field is `(∅, universe)`. The result is
//! `possible`, and it is exact when `possible == sure`.

use std::borrow::Cow;
use std::ops::Bound;

use roaring::RoaringTreemap;
use serde_json::Value;

use crate::datetime::Datetime;
use crate::eval::{LikeToken, like, like_tokens};
use crate::idset::IdSet;
use crate::index::{FieldIndex, FloatKey, PayloadIndexes, Values, float_key, int_key};
use crate::model::{Condition, Filter, Op};
use crate::value::{Num, num};

/// The ids a filter may match among the universe.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    /// A superset of the matching ids, inside the universe.
    pub ids: RoaringTreemap,
    /// `ids` is exactly the matching set; no payload needs to be checked.
    pub exact: bool,
}

struct Tri {
    sure: RoaringTreemap,
    possible: RoaringTreemap,
}

impl Tri {
    fn exact(ids: RoaringTreemap) -> Self {
        Tri {
            sure: ids.clone(),
            possible: ids,
        }
    }
    fn unknown(universe: &RoaringTreemap) -> Self {
        Tri {
            sure: RoaringTreemap::new(),
            possible: universe.clone(),
        }
    }
    fn not(self, universe: &RoaringTreemap) -> Self {
        Tri {
            sure: universe - &self.possible,
            possible: universe - &self.sure,
        }
    }
}

/// What one field index says about one positive condition: `sure` ids match, and among the
/// rest only ids in `maybe` can.
struct Answer<'a> {
    sure: RoaringTreemap,
    maybe: Option<Cow<'a, RoaringTreemap>>,
}

impl PayloadIndexes {
    /// A superset of the ids in `universe` that match `filter` (exact when `exact` is set).
    pub fn resolve(&self, filter: &Filter, universe: &RoaringTreemap) -> Candidates {
        let tri = self.tri(filter, universe);
        let exact = tri.sure.len() == tri.possible.len();
        Candidates {
            ids: tri.possible,
            exact,
        }
    }

    fn tri(&self, filter: &Filter, universe: &RoaringTreemap) -> Tri {
        match filter {
            Filter::And(parts) => self.and(parts.iter(), universe, |f, u| self.tri(f, u)),
            Filter::Or(parts) => or(parts.iter(), |f| self.tri(f, universe)),
            Filter::Not(part) => self.tri(part, universe).not(universe),
            Filter::Condition(c) => self.condition(c, universe),
            Filter::HasId(ids) => Tri::exact(ids & universe),
        }
    }

    fn and<'f, T: 'f>(
        &self,
        parts: impl Iterator<Item = &'f T>,
        universe: &RoaringTreemap,
        mut each: impl FnMut(&'f T, &RoaringTreemap) -> Tri,
    ) -> Tri {
        let mut acc = Tri::exact(universe.clone());
        for part in parts {
            if acc.possible.is_empty() {
                break;
            }
            let t = each(part, &acc.possible);
            acc.sure &= t.sure;
            acc.possible &= t.possible;
        }
        acc
    }

    fn condition(&self, c: &Condition, universe: &RoaringTreemap) -> Tri {
        if c.op.is_full_text() {
            // Payload indexes hold no analyzed text (the engine's text index does).
            return Tri::unknown(universe);
        }
        let Some(index) = self.fields.get(&c.field).filter(|index| !index.stale) else {
            return unindexed(&c.op, universe);
        };
        let eq = |x: &Value| Op::Eq(x.clone());
        let contains = |x: &Value| Op::Contains(x.clone());
        match &c.op {
            Op::Ne(x) => self.op(index, &eq(x), universe).not(universe),
            Op::NotIn(xs) => or(xs.iter(), |x| self.op(index, &eq(x), universe)).not(universe),
            Op::In(xs) => or(xs.iter(), |x| self.op(index, &eq(x), universe)),
            Op::ContainsAny(xs) => or(xs.iter(), |x| self.op(index, &contains(x), universe)),
            Op::ContainsAll(xs) => {
                self.and(xs.iter(), universe, |x, u| self.op(index, &contains(x), u))
            }
            op => self.op(index, op, universe),
        }
    }

    /// One operator that is not a negation or a list.
    fn op(&self, index: &FieldIndex, op: &Op, universe: &RoaringTreemap) -> Tri {
        match op {
            Op::IsNull => Tri::exact(universe - &index.present),
            Op::IsNotNull => Tri::exact(universe & &index.present),
            Op::IsExplicitNull if index.shape_known => Tri::exact(universe & &index.nulls),
            Op::IsExplicitNull => Tri {
                sure: RoaringTreemap::new(),
                possible: universe - &index.present,
            },
            Op::IsEmpty => {
                let missing = universe - &index.present;
                if index.shape_known {
                    Tri::exact(missing | (universe & &index.empty))
                } else {
                    Tri {
                        sure: missing.clone(),
                        possible: missing | (universe & &index.arrays),
                    }
                }
            }
            op => {
                let answer = index.answer(op);
                let sure = answer.sure & universe;
                let possible = match answer.maybe {
                    Some(maybe) => (maybe.as_ref() & universe) | &sure,
                    None => sure.clone(),
                };
                Tri { sure, possible }
            }
        }
    }
}

/// A condition on a field without index: only list operators with empty lists are known.
fn unindexed(op: &Op, universe: &RoaringTreemap) -> Tri {
    match op {
        Op::In(xs) | Op::ContainsAny(xs) if xs.is_empty() => Tri::exact(RoaringTreemap::new()),
        Op::NotIn(xs) | Op::ContainsAll(xs) if xs.is_empty() => Tri::exact(universe.clone()),
        _ => Tri::unknown(universe),
    }
}

fn or<'f, T: 'f>(parts: impl Iterator<Item = &'f T>, mut each: impl FnMut(&'f T) -> Tri) -> Tri {
    let mut acc = Tri::exact(RoaringTreemap::new());
    for part in parts {
        let t = each(part);
        acc.sure |= t.sure;
        acc.possible |= t.possible;
    }
    acc
}

fn union<'a>(sets: impl Iterator<Item = &'a IdSet>) -> RoaringTreemap {
    let mut out = RoaringTreemap::new();
    for set in sets {
        set.add_to(&mut out);
    }
    out
}

/// Inclusive `i64` range of the integers `k` with `k op x`, or `None` when there are none.
fn int_range(op: &Op) -> Option<Option<(i64, i64)>> {
    let bound = |v: &Value, up: bool, strict: bool| -> Option<i128> {
        let Value::Number(n) = v else { return None };
        const BIG: f64 = 1e30;
        Some(match (num(n), up, strict) {
            (Num::Int(i), true, true) => i + 1,
            (Num::Int(i), false, true) => i - 1,
            (Num::Int(i), _, false) => i,
            (Num::Float(f), up, strict) => {
                let f = f.clamp(-BIG, BIG);
                let (floor, ceil) = (f.floor() as i128, f.ceil() as i128);
                match (up, strict) {
                    (true, true) => floor + 1,
                    (true, false) => ceil,
                    (false, true) => ceil - 1,
                    (false, false) => floor,
                }
            }
        })
    };
    let (lo, hi) = match op {
        Op::Gt(x) => (bound(x, true, true)?, i128::MAX),
        Op::Gte(x) => (bound(x, true, false)?, i128::MAX),
        Op::Lt(x) => (i128::MIN, bound(x, false, true)?),
        Op::Lte(x) => (i128::MIN, bound(x, false, false)?),
        Op::Between { low, high } => (bound(low, true, false)?, bound(high, false, false)?),
        _ => return None,
    };
    let lo = lo.max(i128::from(i64::MIN));
    let hi = hi.min(i128::from(i64::MAX));
    if lo > hi {
        return Some(None);
    }
    Some(i64::try_from(lo).ok().zip(i64::try_from(hi).ok()))
}

type FloatRange = (Bound<FloatKey>, Bound<FloatKey>);

/// The float-key range of `op`; `None` when the operands are not exact floats.
fn float_range(op: &Op) -> Option<Option<FloatRange>> {
    let key = |v: &Value| match v {
        Value::Number(n) => float_key(n),
        _ => None,
    };
    let range = match op {
        Op::Gt(x) => (Bound::Excluded(key(x)?), Bound::Unbounded),
        Op::Gte(x) => (Bound::Included(key(x)?), Bound::Unbounded),
        Op::Lt(x) => (Bound::Unbounded, Bound::Excluded(key(x)?)),
        Op::Lte(x) => (Bound::Unbounded, Bound::Included(key(x)?)),
        Op::Between { low, high } => {
            let (lo, hi) = (key(low)?, key(high)?);
            if lo > hi {
                return Some(None);
            }
            (Bound::Included(lo), Bound::Included(hi))
        }
        _ => return None,
    };
    Some(Some(range))
}

fn str_bounds(op: &Op) -> Option<Option<(Bound<&str>, Bound<&str>)>> {
    let range = match op {
        Op::Gt(Value::String(x)) => (Bound::Excluded(x.as_str()), Bound::Unbounded),
        Op::Gte(Value::String(x)) => (Bound::Included(x.as_str()), Bound::Unbounded),
        Op::Lt(Value::String(x)) => (Bound::Unbounded, Bound::Excluded(x.as_str())),
        Op::Lte(Value::String(x)) => (Bound::Unbounded, Bound::Included(x.as_str())),
        Op::Between {
            low: Value::String(lo),
            high: Value::String(hi),
        } => {
            if lo > hi {
                return Some(None);
            }
            (Bound::Included(lo.as_str()), Bound::Included(hi.as_str()))
        }
        _ => return None,
    };
    Some(Some(range))
}

impl FieldIndex {
    /// What this index knows about a positive, single-operand condition.
    fn answer(&self, op: &Op) -> Answer<'_> {
        let other = || Some(Cow::Borrowed(&self.other));
        let exact = |sure| Answer { sure, maybe: None };
        let from_other = || Answer {
            sure: RoaringTreemap::new(),
            maybe: Some(Cow::Borrowed(&self.other)),
        };
        // `contains` of a scalar: on a single-valued path exactly the ids holding it in an
        // array; on a `[]` path the key may also come from a reached scalar (which contains
        // nothing), so those ids are only possible.
        let in_arrays = |ids: &RoaringTreemap| {
            let ids = ids & &self.arrays;
            if self.multi {
                Answer {
                    sure: RoaringTreemap::new(),
                    maybe: Some(Cow::Owned(ids)),
                }
            } else {
                exact(ids)
            }
        };
        let get = |ids: Option<&IdSet>| ids.map(|i| i.bitmap().into_owned()).unwrap_or_default();
        match &self.values {
            Values::Keyword(map) => match op {
                Op::Eq(Value::String(s)) => exact(get(map.get(s.as_str()))),
                // Keys are the strings themselves: those that read as instants in range.
                Op::DatetimeRange(range) => exact(union(
                    map.iter()
                        .filter(|(k, _)| Datetime::parse(k).is_some_and(|t| range.contains(t)))
                        .map(|(_, ids)| ids),
                )),
                Op::Like(pattern) => exact(like_keys(map, pattern)),
                Op::ILike(pattern) => {
                    let pattern = pattern.to_lowercase();
                    exact(union(
                        map.iter()
                            .filter(|(k, _)| like(&k.to_lowercase(), &pattern))
                            .map(|(_, ids)| ids),
                    ))
                }
                Op::Contains(Value::String(s)) => {
                    let substrings = union(
                        map.iter()
                            .filter(|(k, _)| k.contains(s.as_str()))
                            .map(|(_, ids)| ids),
                    );
                    // A key with the substring counts when it is a reached scalar. Without
                    // `[]`, an id in `arrays` has only element keys; with it, such an id may
                    // also have reached scalars, so it is possible.
                    let maybe_scalar = &substrings & &self.arrays;
                    let sure = (substrings - &self.arrays) | get(map.get(s.as_str()));
                    if self.multi {
                        Answer {
                            sure,
                            maybe: Some(Cow::Owned(maybe_scalar)),
                        }
                    } else {
                        exact(sure)
                    }
                }
                op => match str_bounds(op) {
                    Some(Some(range)) => exact(union(map.range::<str, _>(range).map(|(_, i)| i))),
                    Some(None) => exact(RoaringTreemap::new()),
                    None => from_other(),
                },
            },
            Values::Integer(map) => match op {
                Op::Eq(Value::Number(n)) => match int_key(n) {
                    Some(k) => exact(get(map.get(&k))),
                    None => from_other(),
                },
                Op::Contains(Value::Number(n)) => match int_key(n) {
                    Some(k) => in_arrays(&get(map.get(&k))),
                    None => from_other(),
                },
                op => match int_range(op) {
                    Some(Some((lo, hi))) => Answer {
                        sure: union(map.range(lo..=hi).map(|(_, ids)| ids)),
                        maybe: other(),
                    },
                    Some(None) => from_other(),
                    None => from_other(),
                },
            },
            Values::Float(map) => match op {
                Op::Eq(Value::Number(n)) => match float_key(n) {
                    Some(k) => exact(get(map.get(&k))),
                    None => from_other(),
                },
                Op::Contains(Value::Number(n)) => match float_key(n) {
                    Some(k) => in_arrays(&get(map.get(&k))),
                    None => from_other(),
                },
                op => match float_range(op) {
                    Some(Some(range)) => Answer {
                        sure: union(map.range(range).map(|(_, ids)| ids)),
                        maybe: other(),
                    },
                    Some(None) => from_other(),
                    // An operand with no exact f64 (a huge integer): anything present.
                    None if is_numeric_range(op) => Answer {
                        sure: RoaringTreemap::new(),
                        maybe: Some(Cow::Borrowed(&self.present)),
                    },
                    None => from_other(),
                },
            },
            Values::Bool {
                false_ids,
                true_ids,
            } => {
                let of = |b: bool| if b { true_ids } else { false_ids };
                match op {
                    Op::Eq(Value::Bool(b)) => exact(of(*b).clone()),
                    Op::Contains(Value::Bool(b)) => in_arrays(of(*b)),
                    _ => from_other(),
                }
            }
            Values::Datetime(map) => match op {
                // Every string that is a datetime has its key; nothing else can match.
                Op::DatetimeRange(range) => match range.micros() {
                    Some(micros) => exact(union(map.range(micros).map(|(_, ids)| ids))),
                    None => exact(RoaringTreemap::new()),
                },
                // Keys are instants, not the strings (`...Z` and `...+00:00` share one): any
                // other positive condition may hold only for a present value.
                _ => Answer {
                    sure: RoaringTreemap::new(),
                    maybe: Some(Cow::Borrowed(&self.present)),
                },
            },
        }
    }
}

fn is_numeric_range(op: &Op) -> bool {
    match op {
        Op::Gt(x) | Op::Gte(x) | Op::Lt(x) | Op::Lte(x) => x.is_number(),
        Op::Between { low, high } => low.is_number() && high.is_number(),
        _ => false,
    }
}

/// Union of the keys matching a `LIKE` pattern, scanning only keys with its literal prefix.
fn like_keys(map: &std::collections::BTreeMap<String, IdSet>, pattern: &str) -> RoaringTreemap {
    let prefix: String = like_tokens(pattern)
        .into_iter()
        .map_while(|t| match t {
            LikeToken::Char(c) => Some(c),
            LikeToken::Any | LikeToken::One => None,
        })
        .collect();
    union(
        map.range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix.as_str()))
            .filter(|(k, _)| like(k, pattern))
            .map(|(_, ids)| ids),
    )
}
