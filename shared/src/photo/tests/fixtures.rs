//! Test images made in code: encoded with `image`, or assembled byte by byte where we need
//! something `image` will not write (EXIF with GPS, CMYK, lying headers).

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

pub const RED: [u8; 3] = [255, 0, 0];
pub const GREEN: [u8; 3] = [0, 255, 0];
pub const WHITE: [u8; 3] = [255, 255, 255];
pub const BLUE: [u8; 3] = [0, 0, 255];

/// An RGB JPEG at quality 95 of `width`×`height`, each pixel from `paint(x, y)`.
pub fn jpeg(width: u32, height: u32, paint: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb(paint(x, y)));
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95).encode_image(&image).unwrap();
    out
}

/// A grayscale (single-component) JPEG.
pub fn gray_jpeg(width: u32, height: u32, level: u8) -> Vec<u8> {
    let pixels = vec![level; (width * height) as usize];
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95).encode(&pixels, width, height, ExtendedColorType::L8).unwrap();
    out
}

/// A JPEG with a 16×16 red block at the stored top-left, a green one at the stored top-right,
/// white elsewhere: enough to tell all eight orientations apart.
pub fn marked_corners_jpeg(width: u32, height: u32) -> Vec<u8> {
    jpeg(width, height, |x, y| match (x, y) {
        (0..16, 0..16) => RED,
        (x, 0..16) if x >= width - 16 => GREEN,
        _ => WHITE,
    })
}

/// An RGBA PNG, each pixel from `paint(x, y)`.
pub fn png_rgba(width: u32, height: u32, paint: impl Fn(u32, u32) -> [u8; 4]) -> Vec<u8> {
    let image = RgbaImage::from_fn(width, height, |x, y| Rgba(paint(x, y)));
    let mut out = Vec::new();
    PngEncoder::new(&mut out).write_image(image.as_raw(), width, height, ExtendedColorType::Rgba8).unwrap();
    out
}

/// A lossless RGB WebP, each pixel from `paint(x, y)`.
pub fn webp(width: u32, height: u32, paint: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb(paint(x, y)));
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out).write_image(image.as_raw(), width, height, ExtendedColorType::Rgb8).unwrap();
    out
}

/// Inserts a marker segment right after SOI, where cameras put APP1.
pub fn with_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    let length = u16::try_from(payload.len() + 2).unwrap();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An APP1 payload as a phone writes it: "Exif\0\0", a little-endian TIFF header, IFD0 with
/// Orientation and a pointer to a GPS IFD placing the photo in Tbilisi (41.7151 N, 44.8271 E).
/// The GPS processing method spells "GPS" in ASCII so a leak is easy to grep for.
pub fn exif_app1(orientation: u16) -> Vec<u8> {
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const ASCII: u16 = 2;
    const BYTE: u16 = 1;
    const RATIONAL: u16 = 5;
    const UNDEFINED: u16 = 7;

    fn entry(tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: [u8; 4]) {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value);
    }
    fn rationals(values: [(u32, u32); 3]) -> Vec<u8> {
        values.iter().flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()]).flatten().collect()
    }

    let ifd0_at = 8u32;
    let ifd0_len = 2 + 2 * 12 + 4;
    let gps_at = ifd0_at + ifd0_len;
    let gps_len = 2 + 6 * 12 + 4;
    let latitude_at = gps_at + gps_len;
    let longitude_at = latitude_at + 24;
    let method_at = longitude_at + 24;
    let method = b"ASCII\0\0\0GPS";

    let mut tiff = b"II\x2a\x00".to_vec();
    tiff.extend_from_slice(&ifd0_at.to_le_bytes());

    tiff.extend_from_slice(&2u16.to_le_bytes());
    let [lo, hi] = orientation.to_le_bytes();
    entry(&mut tiff, 0x0112, SHORT, 1, [lo, hi, 0, 0]);
    entry(&mut tiff, 0x8825, LONG, 1, gps_at.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());

    tiff.extend_from_slice(&6u16.to_le_bytes());
    entry(&mut tiff, 0x0000, BYTE, 4, [2, 3, 0, 0]);
    entry(&mut tiff, 0x0001, ASCII, 2, *b"N\0\0\0");
    entry(&mut tiff, 0x0002, RATIONAL, 3, latitude_at.to_le_bytes());
    entry(&mut tiff, 0x0003, ASCII, 2, *b"E\0\0\0");
    entry(&mut tiff, 0x0004, RATIONAL, 3, longitude_at.to_le_bytes());
    entry(&mut tiff, 0x001B, UNDEFINED, method.len() as u32, method_at.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());

    tiff.extend_from_slice(&rationals([(41, 1), (42, 1), (5436, 100)]));
    tiff.extend_from_slice(&rationals([(44, 1), (49, 1), (3756, 100)]));
    tiff.extend_from_slice(method);
    assert_eq!(tiff.len() as u32, method_at + method.len() as u32);

    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    app1
}

/// A baseline JPEG of one flat colour with any number of components, assembled by hand:
/// `image` cannot write CMYK, and a flat image of any size costs next to nothing to build and
/// decode (tests run unoptimised). `stored` is each component's sample value as stored; with
/// `adobe_transform` an Adobe APP14 segment says how to read them (0 = CMYK/RGB, 2 = YCCK);
/// three components without it are YCbCr.
pub fn flat_jpeg(width: u16, height: u16, stored: &[u8], adobe_transform: Option<u8>) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, payload: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(payload);
    };
    if let Some(transform) = adobe_transform {
        segment(0xEE, &[b"Adobe".as_slice(), &[0, 100, 0, 0, 0, 0, transform]].concat());
    }
    // Every quantiser 8, so a DC coefficient d decodes to the sample d + 128.
    segment(0xDB, &[[0u8].as_slice(), &[8; 64]].concat());
    let count = stored.len() as u8;
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.push(count);
    for id in 1..=count {
        sof.extend_from_slice(&[id, 0x11, 0]);
    }
    segment(0xC0, &sof);
    // DC: categories 0–8, each a 4-bit code equal to the category. AC: only EOB, code "00".
    let mut dc_lengths = [0u8; 16];
    dc_lengths[3] = 9;
    segment(0xC4, &[[0x00].as_slice(), &dc_lengths, &[0, 1, 2, 3, 4, 5, 6, 7, 8]].concat());
    let mut ac_lengths = [0u8; 16];
    ac_lengths[1] = 1;
    segment(0xC4, &[[0x10].as_slice(), &ac_lengths, &[0x00]].concat());
    let mut sos = vec![count];
    for id in 1..=count {
        sos.extend_from_slice(&[id, 0x00]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    segment(0xDA, &sos);

    // One 8×8 block per component per MCU. The first block of each component carries its DC
    // value; every later one repeats it (difference 0) and ends at once.
    let blocks = usize::from(width.div_ceil(8)) * usize::from(height.div_ceil(8));
    let mut bits = BitWriter::default();
    for &sample in stored {
        let dc = i32::from(sample) - 128;
        let category = 32 - dc.unsigned_abs().leading_zeros();
        bits.put(category, 4);
        let extra = if dc < 0 { dc + (1 << category) - 1 } else { dc };
        bits.put(extra as u32, category);
        bits.put(0b00, 2);
    }
    for _ in 1..blocks {
        for _ in stored {
            bits.put(0, 6); // DC category 0 ("0000"), then EOB ("00")
        }
    }
    out.extend_from_slice(&bits.finish());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// MSB-first bit packing with JPEG's 0xFF byte stuffing and 1-bit padding.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u32,
    len: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, count: u32) {
        for i in (0..count).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.len += 1;
            if self.len == 8 {
                self.flush_byte();
            }
        }
    }

    fn flush_byte(&mut self) {
        let byte = self.acc as u8;
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00);
        }
        self.acc = 0;
        self.len = 0;
    }

    fn finish(mut self) -> Vec<u8> {
        while self.len != 0 {
            self.put(1, 1);
        }
        self.bytes
    }
}

/// A structurally valid PNG whose IHDR claims `width`×`height` RGB, followed by a tiny IDAT
/// (an empty zlib stream) and IEND: a few dozen bytes claiming gigapixels.
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, adaptive filter, no interlace
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// A real JPEG whose frame header is rewritten to claim `width`×`height`.
pub fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(16, 16, |_, _| WHITE);
    let sof = segment_offset(&bytes, 0xC0).expect("a baseline frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The marker codes and offsets of a JPEG's segments, from SOI up to and including SOS.
fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, usize)> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8], "not a JPEG");
    let mut segments = vec![(0xD8, 0)];
    let mut at = 2;
    loop {
        assert_eq!(jpeg[at], 0xFF);
        let marker = jpeg[at + 1];
        segments.push((marker, at));
        if marker == 0xDA {
            return segments;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
}

/// The marker codes of a JPEG's segments, from SOI up to and including SOS.
pub fn jpeg_markers(jpeg: &[u8]) -> Vec<u8> {
    jpeg_segments(jpeg).into_iter().map(|(marker, _)| marker).collect()
}

/// Where the first segment with `marker` starts (at its 0xFF).
pub fn segment_offset(jpeg: &[u8], marker: u8) -> Option<usize> {
    jpeg_segments(jpeg).into_iter().find(|&(m, _)| m == marker).map(|(_, at)| at)
}
