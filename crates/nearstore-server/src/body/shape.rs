//! [`Shape`]: one pass over a JSON body's bytes, before anything is parsed, that bounds its
//! nesting depth and the width of every array and object, and counts what parsing it can
//! allocate.
//!
//! The scan allocates only its stack of open containers (one counter per nesting level,
//! so at most the depth limit) and never fails on malformed JSON (the parser reports that
//! afterwards with serde's message); it only refuses a body nested deeper than the depth
//! limit, so no recursive parser, filter translator or `Drop` below ever sees deep input,
//! and an array or object with more elements than the width limit, so no filter with a
//! million conditions or payload with a million keys reaches a parser. From the
//! counts come two upper bounds of the memory parsing takes, which the request reserves
//! from the memory budget *before* parsing:
//!
//! - [`Shape::value_tree_bytes`]: parsing into `serde_json::Value` (for each payload or
//!   filter of a typed body when it becomes a value);
//! - [`Shape::typed_bytes`]: what parsing into this server's typed bodies allocates besides
//!   their lists: copies of string values and raw payloads and filters (at most the body's
//!   size, plus an allocation each). Their lists are [`super::bounded::Bounded`], which
//!   reserve their own buffers as they grow.
//!
//! The value bound counts each element twice over for a vector's growth slack, and a fixed
//! overhead per allocation, so it is a bound, not an estimate; `tests/it/hostile.rs` checks
//! the budget against the process's peak memory.

use std::mem::size_of;

use serde_json::Value;

/// Allocation overhead assumed per heap block (allocator header and rounding).
pub(crate) const ALLOC_OVERHEAD: usize = 32;

/// What the scan found (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Shape {
    /// Bytes scanned.
    pub(crate) bytes: usize,
    /// Deepest nesting of arrays and objects.
    pub(crate) depth: usize,
    /// `{` and `[` outside strings.
    pub(crate) containers: usize,
    /// `:` outside strings (object members).
    pub(crate) members: usize,
    /// String tokens (keys included).
    pub(crate) strings: usize,
    /// Bytes inside strings.
    pub(crate) string_bytes: usize,
    /// Numbers, `true`, `false` and `null`.
    pub(crate) scalars: usize,
}

/// How deep and how wide a body may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShapeLimits {
    /// Deepest nesting of arrays and objects.
    pub(crate) depth: usize,
    /// Most elements of one array or members of one object.
    pub(crate) width: usize,
}

impl ShapeLimits {
    /// No limits (for text already scanned as part of a whole body).
    pub(crate) const NONE: ShapeLimits = ShapeLimits {
        depth: usize::MAX,
        width: usize::MAX,
    };
}

/// Why a body was refused, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShapeError {
    /// Nested deeper than the limit.
    TooDeep { limit: usize, offset: usize },
    /// An array or object with more elements than the limit.
    TooWide { limit: usize, offset: usize },
}

/// Scans `bytes` (see the module docs); fails as soon as nesting passes `limits.depth` or
/// one container passes `limits.width` elements.
pub(crate) fn scan(bytes: &[u8], limits: ShapeLimits) -> Result<Shape, ShapeError> {
    let max_depth = limits.depth;
    let mut s = Shape {
        bytes: bytes.len(),
        ..Shape::default()
    };
    let mut depth = 0usize;
    // Separators seen in each open container, innermost last (at most `max_depth` long:
    // a level is pushed only after the depth check).
    let mut separators: Vec<usize> = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut in_scalar = false;
    for (offset, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
                continue;
            }
            s.string_bytes += 1;
            continue;
        }
        let scalar_byte = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'.');
        if scalar_byte && !in_scalar {
            s.scalars += 1;
        }
        in_scalar = scalar_byte;
        match b {
            b'"' => {
                in_string = true;
                s.strings += 1;
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth {
                    return Err(ShapeError::TooDeep {
                        limit: max_depth,
                        offset,
                    });
                }
                separators.push(0);
                s.depth = s.depth.max(depth);
                s.containers += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                separators.pop();
            }
            b',' => {
                if let Some(n) = separators.last_mut() {
                    *n += 1;
                    // `n` separators make `n + 1` elements.
                    if *n >= limits.width {
                        return Err(ShapeError::TooWide {
                            limit: limits.width,
                            offset,
                        });
                    }
                }
            }
            b':' => s.members += 1,
            _ => {}
        }
    }
    Ok(s)
}

impl Shape {
    /// Upper bound of the bytes `serde_json::Value` needs for this text (with the
    /// `preserve_order` map: an index-map bucket and an index slot per member).
    pub(crate) fn value_tree_bytes(&self) -> usize {
        let value = size_of::<Value>();
        let bucket = size_of::<String>() + value + size_of::<u64>();
        let values = self.containers + self.strings + self.scalars;
        values
            .saturating_mul(2 * value)
            .saturating_add(
                self.members
                    .saturating_mul(2 * (bucket + size_of::<usize>())),
            )
            .saturating_add(self.string_bytes)
            .saturating_add((self.strings + self.containers).saturating_mul(ALLOC_OVERHEAD))
    }

    /// Upper bound of what this server's typed bodies allocate outside their
    /// [`super::bounded::Bounded`] lists: string values and raw JSON copied out of the body.
    pub(crate) fn typed_bytes(&self) -> usize {
        let value_strings = self.strings.saturating_sub(self.members);
        self.bytes
            .saturating_add(value_strings.saturating_mul(size_of::<String>() + ALLOC_OVERHEAD))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(depth: usize, width: usize) -> ShapeLimits {
        ShapeLimits { depth, width }
    }

    #[test]
    fn counts_ignore_brackets_and_colons_inside_strings() {
        let s = scan(
            br#"{"a:[{": [1, -2.5e3, true, null, "x\"]"]}"#,
            limits(8, 8),
        )
        .unwrap();
        assert_eq!(s.depth, 2);
        assert_eq!(s.containers, 2);
        assert_eq!(s.members, 1);
        assert_eq!(s.strings, 2);
        assert_eq!(s.scalars, 4);
    }

    #[test]
    fn nesting_past_the_limit_is_refused_where_it_happens() {
        assert_eq!(
            scan(b"[[[[1]]]]", limits(3, 8)),
            Err(ShapeError::TooDeep {
                limit: 3,
                offset: 3
            })
        );
        assert!(scan(b"[[[1]]]", limits(3, 8)).is_ok());
        assert!(
            scan(br#""[[[[[[""#, limits(1, 8)).is_ok(),
            "brackets in strings do not nest"
        );
    }

    #[test]
    fn a_container_wider_than_the_limit_is_refused_at_the_separator_past_it() {
        assert!(scan(b"[1,2,3]", limits(4, 3)).is_ok());
        assert_eq!(
            scan(b"[1,2,3,4]", limits(4, 3)),
            Err(ShapeError::TooWide {
                limit: 3,
                offset: 6
            })
        );
        // Each container counts its own elements; commas in strings do not count.
        assert!(
            scan(
                br#"{"a":[1,2,3],"b":"x,y,z,w","c":{"d":1,"e":2}}"#,
                limits(4, 3)
            )
            .is_ok()
        );
        assert!(scan(br#"{"a":1,"b":2,"c":3,"d":4}"#, limits(4, 3)).is_err());
    }

    #[test]
    fn the_value_bound_covers_flat_arrays_of_tiny_values() {
        // The worst case for `Value`: two bytes of text per element.
        let text = format!("[{}0]", "0,".repeat(10_000));
        let s = scan(text.as_bytes(), limits(4, 20_000)).unwrap();
        let actual = 10_001 * size_of::<Value>();
        assert!(s.value_tree_bytes() >= actual);
        assert!(s.typed_bytes() >= text.len());
    }
}
