//! How long `prepare_photo` takes on a 12 MP phone photo, against libvips' `vipsthumbnail`
//! doing the same work (2048 px full + 400 px thumbnail, quality 82, metadata stripped).
//!
//! `cargo bench -p smartmap-shared --features photo --bench photo_pipeline` prints criterion's
//! report for our pipeline, then one comparison line:
//! `photo_pipeline: ours … ms, vipsthumbnail … ms (startup … ms), ratio …x`.
//! Without `/usr/bin/vipsthumbnail` (Debian package libvips-tools) the comparison is skipped.
//! Run without `--bench` (as `cargo test --benches` does) everything runs once, as a smoke test.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::Criterion;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use smartmap_shared::photo::{PhotoLimits, prepare_photo};

const VIPSTHUMBNAIL: &str = "/usr/bin/vipsthumbnail";
const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;

fn main() {
    let full_run = std::env::args().any(|arg| arg == "--bench");
    let dir = ScratchDir::create();
    let dir = dir.0.as_path();
    let input = dir.join("in.jpg");
    let bytes = phone_photo_jpeg();
    std::fs::write(&input, &bytes).expect("write the test photo");
    println!(
        "photo_pipeline: input {WIDTH}×{HEIGHT} JPEG q90, {:.1} MB at {}",
        bytes.len() as f64 / 1e6,
        input.display()
    );

    let limits = PhotoLimits::default();
    let mut criterion =
        Criterion::default().configure_from_args().sample_size(20).measurement_time(Duration::from_secs(10));
    criterion.bench_function("prepare_photo 12MP → 2048 + 400", |b| {
        b.iter(|| prepare_photo(black_box(&bytes), &limits).expect("the photo is valid"))
    });
    criterion.final_summary();

    let iterations = if full_run { 15 } else { 1 };
    let have_vips = Path::new(VIPSTHUMBNAIL).exists();
    // Interleaved, so that whatever else the machine is doing weighs on both sides alike.
    let (mut ours, mut vips, mut startup) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..iterations {
        ours.push(time(|| {
            black_box(prepare_photo(&bytes, &limits).expect("the photo is valid"));
        }));
        if have_vips {
            vips.push(time(|| vips_equivalent(&input, dir)));
            startup.push(time(|| vipsthumbnail(&["--vips-version"])));
        }
    }
    let ours = median(ours);
    if !full_run {
        println!("photo_pipeline: smoke run passed (timings need `cargo bench`)");
    } else if have_vips {
        let (vips, startup) = (median(vips), median(startup));
        let vips_work = vips.saturating_sub(startup * 2);
        println!(
            "photo_pipeline: ours {:.1} ms, vipsthumbnail {:.1} ms (startup {:.1} ms per \
             process, 2 processes), ratio {:.2}x ({:.2}x against vips minus start-up)",
            ms(ours),
            ms(vips),
            ms(startup),
            ours.as_secs_f64() / vips.as_secs_f64(),
            ours.as_secs_f64() / vips_work.as_secs_f64(),
        );
    } else {
        println!(
            "photo_pipeline: ours {:.1} ms; {VIPSTHUMBNAIL} is absent (apt-get install \
             libvips-tools), comparison skipped",
            ms(ours)
        );
    }
}

/// A per-run directory under the system temp dir, removed even if the run panics.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("smartmap-photo-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        Self(dir)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// What the server would otherwise shell out to: one process per output size.
fn vips_equivalent(input: &Path, dir: &Path) {
    let input = input.to_str().expect("a UTF-8 temporary path");
    let full = format!("{}[Q=82,strip]", dir.join("out_full.jpg").display());
    let thumb = format!("{}[Q=82,strip]", dir.join("out_thumb.jpg").display());
    vipsthumbnail(&[input, "-s", "2048", "-o", &full]);
    vipsthumbnail(&[input, "-s", "400", "-o", &thumb]);
}

fn vipsthumbnail(args: &[&str]) {
    let output = Command::new(VIPSTHUMBNAIL).args(args).output().expect("run vipsthumbnail");
    assert!(output.status.success(), "vipsthumbnail {args:?}: {output:?}");
}

fn time(run: impl FnOnce()) -> Duration {
    let start = Instant::now();
    run();
    start.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// A 12 MP JPEG at quality 90 that compresses like a street photo rather than a test card:
/// a sky gradient, buildings with window grids (hard edges), a textured road with a diagonal
/// kerb, and sensor-like noise, so the entropy coder has real work to do.
fn phone_photo_jpeg() -> Vec<u8> {
    let mut noise = XorShift(0x9E37_79B9_7F4A_7C15);
    let horizon = HEIGHT * 11 / 20;
    let buildings = [(150, 900, 700), (1000, 1700, 350), (1850, 2900, 900), (3050, 3900, 500)];
    let image = RgbImage::from_fn(WIDTH, HEIGHT, |x, y| {
        let (fx, fy) = (x as f32 / WIDTH as f32, y as f32 / HEIGHT as f32);
        let mut rgb = if y < horizon {
            [70.0 + 90.0 * fy, 120.0 + 80.0 * fy, 230.0 - 30.0 * fy]
        } else {
            let grain = 12.0 * ((x as f32 * 0.37).sin() * (y as f32 * 0.23).cos());
            let kerb = if (x as f32) < (y - horizon) as f32 * 1.3 + 400.0 { 35.0 } else { 0.0 };
            [95.0 + grain + kerb, 92.0 + grain + kerb, 88.0 + grain]
        };
        for &(left, right, top) in &buildings {
            if (left..right).contains(&x) && (top..horizon).contains(&y) {
                let shade = 40.0 * (left as f32 / WIDTH as f32);
                let window = (x - left) % 70 < 34 && (y - top) % 90 < 46;
                rgb = if window {
                    [40.0 + shade, 55.0 + shade, 70.0 + shade]
                } else {
                    [180.0 - shade, 150.0 - shade * 0.5, 120.0 + 20.0 * fx]
                };
            }
        }
        let luma_noise = noise.next_in(-7.0, 7.0);
        Rgb(rgb.map(|c| (c + luma_noise + noise.next_in(-2.0, 2.0)).clamp(0.0, 255.0) as u8))
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&image).expect("encode the photo");
    out
}

/// Deterministic noise without a `rand` dependency.
struct XorShift(u64);

impl XorShift {
    fn next_in(&mut self, low: f32, high: f32) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        low + (high - low) * ((self.0 >> 40) as f32 / (1u64 << 24) as f32)
    }
}
