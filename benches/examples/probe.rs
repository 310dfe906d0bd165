use std::time::Instant;
use streamspec_benches::engine::orders_topic;
use streamspec_benches::workload::encode_value;
use streamspec_model::Op;
fn main() {
    let (e, h) = orders_topic(1);
    let h = &h[0];
    for _ in 0..5 {
        let n = 2_000_000u64;
        let base = h.high_watermark();
        let mut buf = vec![0u8; 8 * 1000];
        let t = Instant::now();
        let mut w = 0;
        while w < n {
            for (v, s) in buf.chunks_exact_mut(8).zip(w..w + 1000) {
                encode_value(s, v);
            }
            let vals: Vec<&[u8]> = buf.chunks_exact(8).collect();
            h.append_values(&vals).unwrap();
            w += 1000;
        }
        let a = t.elapsed();
        let t = Instant::now();
        let mut pos = base;
        let mut sum = 0u64;
        while ((pos - base) as u64) < n {
            let s = h
                .fetch_values_with(pos, 1000, |_, v| {
                    sum = sum.wrapping_add(v.unwrap()[0] as u64)
                })
                .unwrap();
            pos += s.count as i64;
        }
        let r = t.elapsed();
        e.apply(&Op::DeleteRecords {
            topic: "orders".into(),
            partition: 0,
            offset: -1,
        })
        .unwrap();
        println!(
            "append {:.1} M/s, read {:.1} M/s ({sum})",
            n as f64 / a.as_secs_f64() / 1e6,
            n as f64 / r.as_secs_f64() / 1e6
        );
    }
}
