//! Unit tests of the RaBitQ codebook: rotation, estimates and bounds, lists, bytes.

use super::*;

fn rows(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect()
}

#[test]
fn the_rotation_keeps_norms_and_inner_products() {
    let data = rows(3, 100, 1);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let book = RabitqCodebook::train(100, &refs, true, 7);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let na = book.rotate_centered(&data[0], &mut a);
    book.rotate_centered(&data[1], &mut b);
    assert_eq!(a.len(), MIN_CODE_BITS);
    let centered =
        |v: &[f32]| -> Vec<f32> { v.iter().zip(&book.centroid).map(|(x, c)| x - c).collect() };
    let (ca, cb) = (centered(&data[0]), centered(&data[1]));
    let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
    assert!((dot(&a, &a).sqrt() - na).abs() < 1e-3);
    assert!((dot(&a, &b) - dot(&ca, &cb)).abs() < 1e-3);
}

#[test]
fn estimates_are_close_and_mostly_inside_their_bound() {
    for l2 in [true, false] {
        let data = rows(400, 96, 2);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = RabitqCodebook::train(96, &refs, l2, 3);
        let q = &rows(1, 96, 9)[0];
        let pq = book.prepare(q);
        let mut block = vec![0u64; book.stride()];
        let (mut inside, mut abs_err) = (0, 0f32);
        for v in &data {
            let w = book.words();
            let f = book.encode(v, &mut block[..w]);
            book.write_factors(f, &mut block);
            assert_eq!(book.split(&block).1, book.fold(f));
            let (est, bound) = book.estimate(&pq, &block);
            let exact = if l2 {
                v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()
            } else {
                -v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()
            };
            abs_err += (est - exact).abs();
            // The bound covers the code's error; the 4-bit query adds a little.
            if (est - exact).abs() <= bound * 1.1 + 0.05 {
                inside += 1;
            }
        }
        assert!(
            inside >= 390,
            "l2={l2}: only {inside} of 400 inside the bound"
        );
        let scale = if l2 { 64.0 } else { 10.0 };
        assert!(
            abs_err / 400.0 < scale * 0.2,
            "mean error {}",
            abs_err / 400.0
        );
    }
}

/// `n` rows around 16 centres far apart (each centre uniform in [-8, 8), spread 0.5).
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<Vec<f32>> {
    let centres = rows(16, dim, 77);
    let noise = rows(n, dim, seed);
    noise
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let c = &centres[i % 16];
            c.iter().zip(e).map(|(c, e)| c * 8.0 + e * 0.5).collect()
        })
        .collect()
}

/// Mean absolute error of the estimates of `data` against `q` under `book`, and how
/// many exact distances fell inside estimate ± bound.
fn estimate_error(book: &RabitqCodebook, data: &[Vec<f32>], q: &[f32]) -> (f32, usize) {
    let pq = book.prepare(q);
    let w = book.words();
    let mut block = vec![0u64; book.stride()];
    let (mut err, mut inside) = (0f32, 0);
    for v in data {
        let f = book.encode(v, &mut block[..w]);
        book.write_factors(f, &mut block);
        assert_eq!(book.split(&block).1, book.fold(f));
        let (est, bound) = book.estimate(&pq, &block);
        let exact = if book.l2 {
            v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()
        } else {
            -v.iter().zip(q).map(|(a, b)| a * b).sum::<f32>()
        };
        err += (est - exact).abs();
        if (est - exact).abs() <= bound * 1.1 + 0.05 {
            inside += 1;
        }
    }
    (err / data.len() as f32, inside)
}

#[test]
fn local_centroids_shrink_the_error_on_clustered_data() {
    for l2 in [true, false] {
        let data = clustered(1600, 64, 11);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = RabitqCodebook::train(64, &refs, l2, 3);
        assert!(book.list_count() >= 2, "clustered data keeps its lists");
        let global = RabitqCodebook::train_with_lists(64, &refs, l2, 3, Vec::new());
        let q = &clustered(17, 64, 12)[16];
        let (local_err, inside) = estimate_error(&book, &data, q);
        let (global_err, _) = estimate_error(&global, &data, q);
        assert!(
            inside >= 1560,
            "l2={l2}: only {inside} of 1600 inside the bound"
        );
        assert!(
            local_err * 2.0 < global_err,
            "l2={l2}: lists' mean error {local_err} against {global_err} without"
        );
        // The codebook with its lists survives the round trip; a cut tail is refused.
        let bytes = book.to_bytes();
        let back = RabitqCodebook::from_bytes(64, &bytes);
        assert_eq!(back.as_ref(), Some(&book));
        assert_eq!(
            RabitqCodebook::from_bytes(64, &bytes[..bytes.len() - 1]),
            None
        );
        let mut zero_lists = bytes.clone();
        let at = global.to_bytes().len();
        zero_lists[at..at + 4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(RabitqCodebook::from_bytes(64, &zero_lists), None);
    }
    // Uniform data gains too little from lists to pay for them.
    let flat = rows(1600, 64, 13);
    let refs: Vec<&[f32]> = flat.iter().map(Vec::as_slice).collect();
    assert_eq!(RabitqCodebook::train(64, &refs, true, 3).list_count(), 0);
}

#[test]
fn codebooks_and_factors_round_trip_and_damage_is_refused() {
    let data = rows(10, 70, 4);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let book = RabitqCodebook::train(70, &refs, false, 5);
    let bytes = book.to_bytes();
    assert_eq!(RabitqCodebook::from_bytes(70, &bytes), Some(book.clone()));
    assert_eq!(RabitqCodebook::from_bytes(71, &bytes), None);
    assert_eq!(RabitqCodebook::from_bytes(70, &bytes[1..]), None);
    let mut flags = bytes.clone();
    flags[4] |= 1 << 5;
    assert_eq!(RabitqCodebook::from_bytes(70, &flags), None, "unknown flag");
    let p = book.padded();
    assert_eq!(p, MIN_CODE_BITS);
    let mut code = vec![0u64; book.words()];
    let f = book.encode(&data[0], &mut code);
    assert_eq!(Factors::from_bytes(&f.to_bytes(), p, 0), Some(f));
    let mut bad = f.to_bytes();
    bad[4..8].copy_from_slice(&1000f32.to_le_bytes());
    assert_eq!(Factors::from_bytes(&bad, p, 0), None, "popcount above P");
    let mut far = f.to_bytes();
    far[16..20].copy_from_slice(&5u32.to_le_bytes());
    assert_eq!(
        Factors::from_bytes(&far, p, 5),
        None,
        "list beyond the lists"
    );
    assert!(Factors::from_bytes(&far, p, 6).is_some());
    let v1 = &f.to_bytes()[..FACTOR_BYTES_V1];
    assert_eq!(
        Factors::from_bytes(v1, p, 0),
        Some(f),
        "an older checkpoint's factors"
    );
}

#[test]
fn codebooks_from_before_the_longer_codes_keep_their_code_length() {
    let data = rows(10, 70, 4);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    for l2 in [false, true] {
        // The layout of a codebook written before `MIN_CODE_BITS`: `P` = 128 at 70-d,
        // the metric byte 0 or 1.
        let old = RabitqCodebook::train_padded(70, &refs, l2, 5, Vec::new(), 64);
        assert_eq!(old.padded(), 128);
        assert_eq!(old.words(), 2);
        let bytes = old.to_bytes();
        assert_eq!(bytes[4], u8::from(l2));
        assert_eq!(bytes.len(), 5 + 70 * 4 + ROUNDS * 128 / 8);
        let back = RabitqCodebook::from_bytes(70, &bytes);
        assert_eq!(back.as_ref().map(RabitqCodebook::padded), Some(128));
        assert_eq!(back, Some(old));
        // A new one records its longer code.
        let new = RabitqCodebook::train(70, &refs, l2, 5);
        assert_eq!(new.padded(), MIN_CODE_BITS);
        let bytes = new.to_bytes();
        assert_eq!(bytes[4], u8::from(l2) | 2 << 1);
        assert_eq!(RabitqCodebook::from_bytes(70, &bytes), Some(new));
    }
}

#[test]
fn longer_codes_estimate_closer() {
    // 128-d clustered data: 512-bit codes against 128-bit ones.
    let data = clustered(1600, 128, 21);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let q = &clustered(17, 128, 22)[16];
    let short = RabitqCodebook::train_padded(128, &refs, true, 3, Vec::new(), 128);
    let long = RabitqCodebook::train_with_lists(128, &refs, true, 3, Vec::new());
    assert_eq!((short.padded(), long.padded()), (128, MIN_CODE_BITS));
    let (short_err, _) = estimate_error(&short, &data, q);
    let (long_err, inside) = estimate_error(&long, &data, q);
    assert!(inside >= 1560, "only {inside} of 1600 inside the bound");
    assert!(
        long_err * 1.5 < short_err,
        "512 bits' mean error {long_err} against {short_err} with 128"
    );
}

#[test]
fn extended_codes_estimate_far_closer_at_equal_bytes() {
    // 128-d clustered data: 4-bit extended codes (128 coordinates, 64 bytes) against
    // 1-bit codes of 512 bits (64 bytes), same lists.
    let data = clustered(1600, 128, 31);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    for l2 in [true, false] {
        let one = RabitqCodebook::train_bits(128, &refs, l2, 3, 1);
        let ex = RabitqCodebook::train_bits(128, &refs, l2, 3, EX_BITS);
        assert_eq!((one.bits(), ex.bits()), (1, EX_BITS));
        assert_eq!((one.padded(), ex.padded()), (MIN_CODE_BITS, 128));
        assert_eq!(one.words(), ex.words(), "equal code bytes");
        assert_eq!(ex.list_count(), one.list_count());
        for qi in 0..4 {
            let q = &clustered(20, 128, 32 + qi)[16 + qi as usize];
            let (one_err, _) = estimate_error(&one, &data, q);
            let (ex_err, inside) = estimate_error(&ex, &data, q);
            assert!(
                inside >= 1560,
                "l2={l2}: only {inside} of 1600 inside the bound"
            );
            assert!(
                ex_err * 2.5 < one_err,
                "l2={l2}: 4-bit mean error {ex_err} against {one_err} with 1 bit"
            );
        }
    }
}

#[test]
fn extended_codes_fit_the_grid_and_decode_near_the_vector() {
    let data = rows(200, 100, 41);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let book = RabitqCodebook::train_bits(100, &refs, true, 5, EX_BITS);
    assert_eq!(book.padded(), 128);
    let mut block = vec![0u64; book.stride()];
    let w = book.words();
    let mut out = Vec::new();
    let (mut rel, mut count) = (0f64, 0);
    for v in &data {
        let f = book.encode(v, &mut block[..w]);
        book.write_factors(f, &mut block);
        let code = &block[..w];
        let sum: u32 = (0..128).map(|i| ex::nibble(code, i)).sum();
        assert_eq!(f.popcount, sum as f32, "the code sum is stored");
        assert!(f.popcount <= book.max_code_sum() as f32);
        book.decode_into(&block, &mut out);
        let err: f32 = out.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
        let c: f32 = v
            .iter()
            .zip(&book.centroid)
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        rel += f64::from(err / c);
        count += 1;
    }
    // Four bits a coordinate reconstruct the residual to about 1% of its energy.
    assert!(
        rel / count as f64 <= 0.03,
        "relative error {}",
        rel / count as f64
    );
}

#[test]
fn extended_codebooks_round_trip_and_bad_widths_are_refused() {
    let data = rows(40, 70, 4);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    for l2 in [false, true] {
        let book = RabitqCodebook::train_bits(70, &refs, l2, 5, EX_BITS);
        let bytes = book.to_bytes();
        assert_eq!(bytes[4] >> 5 & 1, 1, "the bits byte is flagged");
        assert_eq!(bytes[5], EX_BITS);
        assert_eq!(RabitqCodebook::from_bytes(70, &bytes), Some(book.clone()));
        for bad in [0u8, 1, 2, 3, 5, 8, 255] {
            let mut b = bytes.clone();
            b[5] = bad;
            assert_eq!(RabitqCodebook::from_bytes(70, &b), None, "bits {bad}");
        }
        // Cut anywhere: refused, never a panic.
        for cut in 0..bytes.len() {
            assert_eq!(RabitqCodebook::from_bytes(70, &bytes[..cut]), None);
        }
        let mut unknown = bytes.clone();
        unknown[4] |= 1 << 6;
        assert_eq!(RabitqCodebook::from_bytes(70, &unknown), None);
        // A 1-bit codebook has no bits byte and reads as before.
        let one = RabitqCodebook::train_bits(70, &refs, l2, 5, 1);
        let b = one.to_bytes();
        assert_eq!(b[4] >> 5, 0);
        assert_eq!(RabitqCodebook::from_bytes(70, &b), Some(one));
        // Factors of an extended code: the sum may exceed P, but not P (2^B - 1).
        let mut code = vec![0u64; book.words()];
        let f = book.encode(&data[0], &mut code);
        let max = book.max_code_sum();
        assert_eq!(Factors::from_bytes(&f.to_bytes(), max, 0), Some(f));
        let mut over = f.to_bytes();
        over[4..8].copy_from_slice(&(max as f32 + 1.0).to_le_bytes());
        assert_eq!(Factors::from_bytes(&over, max, 0), None);
    }
}

#[test]
fn hadamard_equals_the_textbook_butterflies_bit_for_bit() {
    for n in [1usize, 2, 16, 64, 128, 512] {
        let x: Vec<f32> = rows(1, n, n as u64)[0].clone();
        let mut fast = x.clone();
        hadamard(&mut fast);
        // The textbook transform: every stage over the whole vector, the first four too.
        let mut slow = x;
        let mut h = 1;
        while h < n {
            stage(&mut slow, h);
            h *= 2;
        }
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&slow), "n = {n}");
    }
}

/// The estimate of a block as the unfolded factors give it (the formula before folding),
/// and the largest magnitude among its terms (what float rounding is relative to).
fn unfolded_estimate(
    book: &RabitqCodebook,
    q: &RabitqQuery,
    code: &[u64],
    f: Factors,
) -> (f32, f32) {
    let raw = if q.planes.is_empty() {
        kernels().dot_u4_u8(code, &q.bytes) as f32
    } else {
        kernels().and_popcount_planes(code, &q.planes) as f32
    };
    let ip = f.scale * (q.delta * raw + q.low * f.popcount - q.half_sum - f.shift);
    let (base, _) = if q.list_terms.is_empty() {
        (q.base, q.norm)
    } else {
        book.query_terms(q, f.list)
    };
    let terms = [base, f.add, ip, f.scale * f.shift, f.scale * q.delta * raw];
    let magnitude = terms.iter().fold(0f32, |m, t| m.max(t.abs()));
    if q.l2 {
        (base + f.add - 2.0 * ip, magnitude)
    } else {
        (-(ip + base + f.add), magnitude)
    }
}

#[test]
fn folded_factors_estimate_as_the_unfolded_ones_and_round_trip_through_bytes() {
    for (l2, bits) in [(true, EX_BITS), (false, EX_BITS), (true, 1), (false, 1)] {
        let data = clustered(400, 64, 4);
        let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
        let book = RabitqCodebook::train_bits(64, &refs, l2, 3, bits);
        assert!(book.list_count() > 0, "clustered data gets lists");
        let q = book.prepare(&rows(1, 64, 8)[0]);
        let w = book.words();
        let mut block = vec![0u64; book.stride()];
        for v in &data {
            let f = book.encode(v, &mut block[..w]);
            book.write_factors(f, &mut block);
            let folded = book.split(&block).1;
            assert_eq!(folded, book.fold(f));
            assert_eq!(folded.list, f.list);
            // The bound is rounded up, by less than one part in 128.
            assert!(folded.error >= f.error && folded.error <= f.error * 1.008);
            let (est, _) = book.estimate(&q, &block);
            let (want, magnitude) = unfolded_estimate(&book, &q, &block[..w], f);
            // The same sum in another order: equal up to a few roundings of its terms.
            assert!(
                (est - want).abs() <= 4e-6 * (magnitude + 1.0),
                "l2={l2} bits={bits}: {est} against {want} (terms up to {magnitude})"
            );
            let (max, lists) = (book.max_code_sum(), book.list_count());
            assert_eq!(
                Folded::from_bytes(&folded.to_bytes(), max, lists),
                Some(folded)
            );
        }
    }
}

#[test]
fn damaged_folded_factors_are_refused() {
    let f = Folded {
        scale: 0.5,
        scaled_sum: 10.0,
        constant: -3.0,
        error: f32::from_bits(0x3e80_0000),
        list: 4,
    };
    let ok = f.to_bytes();
    assert_eq!(Folded::from_bytes(&ok, 64, 5), Some(f));
    assert_eq!(Folded::from_bytes(&ok[..16], 64, 5), None, "short");
    assert_eq!(
        Folded::from_bytes(&ok, 64, 4),
        None,
        "list beyond the lists"
    );
    assert_eq!(
        Folded::from_bytes(&ok, 19, 5),
        None,
        "sum above scale x max"
    );
    let mut bits = ok;
    bits[12] = 1;
    assert_eq!(
        Folded::from_bytes(&bits, 64, 5),
        None,
        "an error bound not a bfloat16"
    );
    for (at, value) in [(0, -1.0f32), (8, f32::NAN), (12, f32::INFINITY)] {
        let mut bad = ok;
        bad[at..at + 4].copy_from_slice(&value.to_le_bytes());
        assert_eq!(Folded::from_bytes(&bad, 64, 5), None, "{value} at {at}");
    }
}

#[test]
fn a_factor_section_reads_folded_or_from_before_folding_alike() {
    let data = clustered(300, 48, 6);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    for l2 in [true, false] {
        let book = RabitqCodebook::train_bits(48, &refs, l2, 2, EX_BITS);
        assert!(book.list_count() > 0);
        let mut code = vec![0u64; book.words()];
        let factors: Vec<Factors> = data.iter().map(|v| book.encode(v, &mut code)).collect();
        let want: Vec<Folded> = factors.iter().map(|&f| book.fold(f)).collect();
        let n = factors.len();
        let legacy: Vec<u8> = factors.iter().flat_map(|f| f.to_bytes()).collect();
        let folded: Vec<u8> = want.iter().flat_map(|f| f.to_bytes()).collect();
        assert_eq!(book.read_factors(&legacy, n), Ok(want.clone()));
        assert_eq!(book.read_factors(&folded, n), Ok(want.clone()));
        assert_eq!(book.read_factors(&folded[1..], n), Err(FactorsDamage::Size));
        let v1: Vec<u8> = factors
            .iter()
            .flat_map(|f| f.to_bytes()[..FACTOR_BYTES_V1].to_vec())
            .collect();
        assert_eq!(book.read_factors(&v1, n), Err(FactorsDamage::NoLists));
        let mut damaged = folded.clone();
        let at = 7 * FOLDED_BYTES;
        damaged[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(book.read_factors(&damaged, n), Err(FactorsDamage::Slot(7)));
        // Unfolded factors that are each finite but whose fold overflows (a vector of huge
        // magnitude; found by fuzzing: the slot loaded, and the index it was saved into did
        // not): folded saturated, the error bound the largest, and it round-trips.
        let mut huge = factors.clone();
        huge[3].scale = 1e20;
        huge[3].shift = 1e20;
        let legacy: Vec<u8> = huge.iter().flat_map(|f| f.to_bytes()).collect();
        let read = book
            .read_factors(&legacy, n)
            .expect("saturated, not refused");
        assert_eq!(read[..3], want[..3]);
        assert_eq!(read[4..], want[4..]);
        let sat = read[3];
        assert!(sat.is_possible(book.max_code_sum(), book.list_count()));
        assert_eq!(
            sat.constant.abs(),
            f32::MAX,
            "l2={l2}: saturated, not infinite"
        );
        assert!(sat.error > 3e38, "l2={l2}: a bound that says nothing");
        let again: Vec<u8> = read.iter().flat_map(|f| f.to_bytes()).collect();
        assert_eq!(book.read_factors(&again, n), Ok(read));
    }
}

#[test]
fn folding_saturates_overflow_and_never_claims_a_tight_bound_for_it() {
    let finite = Factors {
        scale: 0.5,
        popcount: 40.0,
        error: 0.25,
        add: 3.0,
        list: 2,
        shift: 4.0,
    };
    for l2 in [true, false] {
        let f = Folded::of(finite, l2);
        assert_eq!(f.error, 0.25, "an exact bfloat16 stays as it is");
        assert_eq!(f.constant, if l2 { 7.0 } else { 1.0 });
        for (name, bad) in [
            (
                "add overflowed",
                Factors {
                    add: f32::INFINITY,
                    ..finite
                },
            ),
            (
                "shift huge",
                Factors {
                    shift: 1e38,
                    scale: 1e10,
                    ..finite
                },
            ),
            (
                "scale NaN",
                Factors {
                    scale: f32::NAN,
                    ..finite
                },
            ),
            (
                "inf meets -inf",
                Factors {
                    add: f32::INFINITY,
                    shift: f32::NEG_INFINITY,
                    scale: f32::MAX,
                    ..finite
                },
            ),
        ] {
            let f = Folded::of(bad, l2);
            assert!(f.is_possible(64, 5), "l2={l2} {name}: {f:?}");
            assert!(f.error > 3e38, "l2={l2} {name}: the bound says nothing");
        }
    }
}

#[test]
fn the_list_scan_finds_a_list_of_the_query_s_cluster_about_as_near_as_the_nearest() {
    let data = clustered(1600, 64, 11);
    let refs: Vec<&[f32]> = data.iter().map(Vec::as_slice).collect();
    let queries = clustered(300, 64, 21);
    // The cluster of a point or list centre: the nearest of `clustered`'s 16 centres.
    let centres: Vec<Vec<f32>> = rows(16, 64, 77)
        .iter()
        .map(|c| c.iter().map(|x| x * 8.0).collect())
        .collect();
    let cluster = |v: &[f32]| {
        (0..16)
            .min_by(|&a, &b| {
                let (da, db) = (
                    kernels().l2sq_f32(v, &centres[a]),
                    kernels().l2sq_f32(v, &centres[b]),
                );
                da.total_cmp(&db)
            })
            .unwrap_or(0)
    };
    for (l2, bits) in [(true, 1), (true, EX_BITS), (false, EX_BITS)] {
        let book = RabitqCodebook::train_bits(64, &refs, l2, 3, bits);
        let lists = book.list_count();
        assert!(lists >= 16, "clustered data keeps its lists");
        let exact = |q: &[f32], j: usize| kernels().l2sq_f32(q, book.list_centroid(j));
        for (i, q) in queries.iter().enumerate() {
            let pq = book.prepare(q);
            let best = (0..lists)
                .map(|j| exact(q, j))
                .fold(f32::INFINITY, f32::min);
            let got = book.nearest_list(&pq, |_| true).expect("lists to scan");
            assert_eq!(cluster(book.list_centroid(got)), i % 16, "query {i}");
            // The bytes' rounding may swap lists close together inside the cluster (the
            // points spread 0.5 per coordinate), never pick a far one (the centres are 8
            // apart per coordinate: distances in the thousands).
            assert!(
                exact(q, got) <= best + 8.0,
                "l2={l2} bits={bits}: list at {} against the nearest at {best}",
                exact(q, got)
            );
            // Lists refused are skipped; none usable is none.
            let other = book.nearest_list(&pq, |j| j != got).expect("another list");
            assert_ne!(other, got);
            assert_eq!(book.nearest_list(&pq, |_| false), None);
        }
    }
    // Without lists there is nothing to scan.
    let flat = rows(1600, 64, 13);
    let refs: Vec<&[f32]> = flat.iter().map(Vec::as_slice).collect();
    let book = RabitqCodebook::train(64, &refs, true, 3);
    assert_eq!(book.nearest_list(&book.prepare(&flat[0]), |_| true), None);
}
