//! Photos made in memory: ordinary JPEGs (each seed a different picture, so a different blob),
//! a JPEG too large to accept, and decompression bombs — tiny files whose headers claim
//! billions of pixels.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, RgbImage};

/// A `width`×`height` JPEG of a gradient; different seeds give different bytes.
pub fn jpeg(width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x as u8).wrapping_add(seed), (y as u8).wrapping_mul(3), seed.wrapping_mul(29)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Jpeg).expect("encoding a JPEG in memory");
    out.into_inner()
}

/// A 12-megapixel (4000×3000) street photo as a phone camera takes it: sky, buildings with
/// windows, a kerb, sensor noise; JPEG quality 90, about 3–4 MB. `seed` varies the noise, so
/// each seed is a different file.
pub fn camera_photo(seed: u64) -> Vec<u8> {
    const W: u32 = 4000;
    const H: u32 = 3000;
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut noise = move |span: f32| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 * span - span
    };
    let horizon = H * 11 / 20;
    let buildings = [(150, 900, 700), (1000, 1700, 350), (1850, 2900, 900), (3050, 3900, 500)];
    let img = RgbImage::from_fn(W, H, |x, y| {
        let fy = y as f32 / H as f32;
        let mut rgb = if y < horizon {
            [70.0 + 90.0 * fy, 120.0 + 80.0 * fy, 230.0 - 30.0 * fy]
        } else {
            let grain = 12.0 * ((x as f32 * 0.37).sin() * (y as f32 * 0.23).cos());
            let kerb = if (x as f32) < (y - horizon) as f32 * 1.3 + 400.0 { 35.0 } else { 0.0 };
            [95.0 + grain + kerb, 92.0 + grain + kerb, 88.0 + grain]
        };
        for &(left, right, top) in &buildings {
            if (left..right).contains(&x) && (top..horizon).contains(&y) {
                let window = (x - left) % 70 < 34 && (y - top) % 90 < 46;
                rgb = if window { [45.0, 60.0, 75.0] } else { [170.0, 145.0, 125.0] };
            }
        }
        let luma = noise(7.0);
        image::Rgb(rgb.map(|c| (c + luma + noise(2.0)).clamp(0.0, 255.0) as u8))
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img).expect("encoding the photo");
    out
}

/// A small photo, as a phone might send after shrinking it.
pub fn photo(seed: u8) -> Vec<u8> {
    jpeg(160, 120, seed)
}

/// A valid JPEG of at least `min_bytes`: noise at full quality does not compress.
pub fn large_jpeg(min_bytes: usize) -> Vec<u8> {
    let mut state: u32 = 0x2026_0310;
    let mut side = 256;
    loop {
        let img = RgbImage::from_fn(side, side, |_, _| {
            // xorshift32: noise without a random-number crate.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [r, g, b, _] = state.to_le_bytes();
            image::Rgb([r, g, b])
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 100).encode_image(&img).expect("encoding noise");
        if out.len() >= min_bytes {
            return out;
        }
        side += 128;
    }
}

/// A valid 1×1 PNG whose header was then rewritten to claim `width`×`height` (with the header
/// checksum fixed, so only the size is wrong): decoding it naively would allocate
/// `width × height × 4` bytes.
pub fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    RgbImage::new(1, 1).write_to(&mut out, ImageFormat::Png).expect("encoding a PNG in memory");
    let mut png = out.into_inner();
    // 8-byte signature, then the IHDR chunk: length (4), "IHDR" (4), width (4), height (4), …
    assert_eq!(&png[12..16], b"IHDR", "IHDR is the first chunk");
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    // The CRC covers the chunk type and its 13 data bytes.
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A valid small JPEG whose frame header (SOF0) was rewritten to claim `width`×`height`.
pub fn jpeg_bomb(width: u16, height: u16) -> Vec<u8> {
    let mut jpeg = jpeg(16, 16, 7);
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).expect("a baseline JPEG has SOF0");
    // FFC0, length (2), precision (1), height (2), width (2).
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// CRC-32 (IEEE), as PNG chunks use it.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn bombs_are_tiny_and_claim_huge_sizes() {
        let png = png_bomb(60_000, 60_000);
        assert!(png.len() < 200);
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 60_000);
        assert!(jpeg_bomb(65_000, 65_000).len() < 2_000);
    }
}
