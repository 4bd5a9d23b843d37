//! The photo pipeline, one behaviour a reporter or an operator would recognise per test.

mod fixtures;

use image::{ImageFormat, RgbImage};

use self::fixtures::*;
use super::header::{self, Format};
use super::{PhotoError, PhotoLimits, PreparedPhoto, decode, prepare_photo, resize};

fn prepare(bytes: &[u8]) -> Result<PreparedPhoto, PhotoError> {
    prepare_photo(bytes, &PhotoLimits::default())
}

fn decode_output(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).unwrap().to_rgb8()
}

/// Within a JPEG round trip of a flat colour.
fn close_to(actual: [u8; 3], expected: [u8; 3]) -> bool {
    actual.iter().zip(expected).all(|(&a, e)| a.abs_diff(e) <= 40)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What a re-encoded output may contain before its scan: JFIF, tables, frame, scan. No APPn
/// but APP0, no comments, and a baseline (SOF0) frame.
fn assert_bare_baseline(jpeg: &[u8]) {
    let markers = jpeg_markers(jpeg);
    for marker in &markers {
        assert!(
            matches!(marker, 0xD8 | 0xE0 | 0xDB | 0xC0 | 0xC4 | 0xDA),
            "unexpected marker {marker:#04X} in {markers:02X?}"
        );
    }
    assert!(markers.contains(&0xC0), "not baseline: {markers:02X?}");
    assert_eq!(&jpeg[jpeg.len() - 2..], [0xFF, 0xD9]);
}

#[test]
fn a_phone_photo_loses_its_gps_and_is_turned_upright() {
    let stored = marked_corners_jpeg(64, 32);
    let upload = with_segment(&stored, 0xE1, &exif_app1(6));
    assert!(contains(&upload, b"GPS") && contains(&upload, b"Exif\0\0"), "fixture has EXIF+GPS");

    let photo = prepare(&upload).unwrap();

    assert_bare_baseline(&photo.full);
    assert_bare_baseline(&photo.thumb);
    for output in [&photo.full, &photo.thumb] {
        assert!(!contains(output, b"Exif"), "EXIF survived");
        assert!(!contains(output, b"GPS"), "GPS survived");
    }
    // Orientation 6: stored landscape, shown portrait.
    assert_eq!((photo.width, photo.height), (32, 64));
    assert_eq!((photo.thumb_width, photo.thumb_height), (32, 64));
    assert_eq!(decode_output(&photo.full).dimensions(), (32, 64));
}

#[test]
fn every_kind_of_metadata_is_dropped() {
    let mut upload = marked_corners_jpeg(64, 64);
    upload = with_segment(&upload, 0xFE, b"shot by Nino on her way to work");
    upload = with_segment(&upload, 0xE2, b"ICC_PROFILE\0\x01\x01fake-profile");
    upload = with_segment(&upload, 0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>");
    upload = with_segment(&upload, 0xE1, &exif_app1(1));

    let photo = prepare(&upload).unwrap();

    for output in [&photo.full, &photo.thumb] {
        assert_bare_baseline(output);
        for leak in [&b"Nino"[..], b"ICC_PROFILE", b"xmpmeta", b"Exif", b"GPS"] {
            assert!(!contains(output, leak), "{} survived", String::from_utf8_lossy(leak));
        }
    }
}

#[test]
fn each_of_the_eight_orientations_puts_the_corners_where_a_viewer_would() {
    // Where the stored top-left (red) and top-right (green) blocks are shown, per EXIF value.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Corner {
        TopLeft,
        TopRight,
        BottomLeft,
        BottomRight,
    }
    use Corner::*;
    let expected = [
        (1, TopLeft, TopRight),
        (2, TopRight, TopLeft),
        (3, BottomRight, BottomLeft),
        (4, BottomLeft, BottomRight),
        (5, TopLeft, BottomLeft),
        (6, TopRight, BottomRight),
        (7, BottomRight, TopRight),
        (8, BottomLeft, TopLeft),
    ];
    let stored = marked_corners_jpeg(64, 32);

    for (orientation, red, green) in expected {
        let upload = with_segment(&stored, 0xE1, &exif_app1(orientation));
        let photo = prepare(&upload).unwrap();
        let shown = decode_output(&photo.full);
        let (w, h) = shown.dimensions();
        assert_eq!((w, h), if orientation >= 5 { (32, 64) } else { (64, 32) }, "{orientation}");

        let at = |corner: Corner| {
            let (x, y) = match corner {
                TopLeft => (4, 4),
                TopRight => (w - 5, 4),
                BottomLeft => (4, h - 5),
                BottomRight => (w - 5, h - 5),
            };
            shown.get_pixel(x, y).0
        };
        for corner in [TopLeft, TopRight, BottomLeft, BottomRight] {
            let want = if corner == red {
                RED
            } else if corner == green {
                GREEN
            } else {
                WHITE
            };
            assert!(
                close_to(at(corner), want),
                "orientation {orientation}: {corner:?} is {:?}, want {want:?}",
                at(corner)
            );
        }
    }
}

#[test]
fn a_12_megapixel_photo_becomes_2048_wide_with_a_400_wide_thumbnail() {
    // Y 128, Cb 90, Cr 200: a brick red, (229, 90, 61) in RGB.
    let upload = flat_jpeg(4000, 3000, &[128, 90, 200], None);

    let photo = prepare(&upload).unwrap();

    assert_eq!((photo.width, photo.height), (2048, 1536));
    assert_eq!((photo.thumb_width, photo.thumb_height), (400, 300));
    assert_eq!(decode_output(&photo.full).dimensions(), (2048, 1536));
    assert_eq!(decode_output(&photo.thumb).dimensions(), (400, 300));
    let thumb = decode_output(&photo.thumb);
    assert!(close_to(thumb.get_pixel(200, 150).0, [229, 90, 61]), "{:?}", thumb.get_pixel(200, 150));
}

#[test]
fn a_portrait_photo_keeps_its_long_edge_vertical() {
    let upload = flat_jpeg(1500, 3000, &[128, 90, 200], None);

    let photo = prepare(&upload).unwrap();

    assert_eq!((photo.width, photo.height), (1024, 2048));
    assert_eq!((photo.thumb_width, photo.thumb_height), (200, 400));
}

#[test]
fn a_small_photo_is_never_enlarged() {
    let tiny = prepare(&jpeg(300, 200, |_, _| BLUE)).unwrap();
    assert_eq!((tiny.width, tiny.height, tiny.thumb_width, tiny.thumb_height), (300, 200, 300, 200));

    let medium = prepare(&jpeg(640, 480, |_, _| BLUE)).unwrap();
    assert_eq!((medium.width, medium.height), (640, 480));
    assert_eq!((medium.thumb_width, medium.thumb_height), (400, 300));
}

#[test]
fn a_jpeg_is_shrunk_while_decoding_never_below_the_target() {
    let bytes = flat_jpeg(1600, 1200, &[128, 90, 200], None);
    let header = header::read(&bytes).unwrap();
    let decoded_at = |long_edge| {
        let limits = PhotoLimits { long_edge, ..PhotoLimits::default() };
        decode::decode(&bytes, header, &limits).unwrap().image.dimensions()
    };

    assert_eq!(decoded_at(200), (200, 150), "1/8");
    assert_eq!(decoded_at(201), (400, 300), "1/4");
    assert_eq!(decoded_at(800), (800, 600), "1/2");
    assert_eq!(decoded_at(801), (1600, 1200), "full");
}

#[test]
fn a_screenshot_with_transparency_is_flattened_onto_white() {
    // Left half fully transparent (black underneath), right half opaque blue.
    let upload = png_rgba(100, 50, |x, _| if x < 50 { [0, 0, 0, 0] } else { [0, 0, 255, 255] });

    let photo = prepare(&upload).unwrap();

    let shown = decode_output(&photo.full);
    assert_eq!(shown.dimensions(), (100, 50));
    assert!(close_to(shown.get_pixel(10, 25).0, WHITE), "{:?}", shown.get_pixel(10, 25));
    assert!(close_to(shown.get_pixel(90, 25).0, BLUE), "{:?}", shown.get_pixel(90, 25));
}

#[test]
fn a_webp_is_accepted_and_becomes_a_jpeg() {
    let upload = webp(120, 80, |x, _| if x < 60 { RED } else { GREEN });

    let photo = prepare(&upload).unwrap();

    assert_bare_baseline(&photo.full);
    let shown = decode_output(&photo.full);
    assert_eq!(shown.dimensions(), (120, 80));
    assert!(close_to(shown.get_pixel(10, 40).0, RED));
    assert!(close_to(shown.get_pixel(110, 40).0, GREEN));
}

#[test]
fn a_grayscale_jpeg_comes_out_as_rgb() {
    let photo = prepare(&gray_jpeg(64, 48, 100)).unwrap();

    let shown = decode_output(&photo.full);
    assert_eq!(shown.dimensions(), (64, 48));
    assert!(close_to(shown.get_pixel(30, 30).0, [100, 100, 100]));
}

#[test]
fn a_cmyk_jpeg_from_a_print_workflow_comes_out_in_the_right_colour() {
    // Adobe stores CMYK inverted: full magenta and yellow ink, no cyan or black, is red.
    let upload = flat_jpeg(8, 8, &[255, 0, 0, 255], Some(0));

    let photo = prepare(&upload).unwrap();

    let shown = decode_output(&photo.full);
    assert_eq!(shown.dimensions(), (8, 8));
    assert!(close_to(shown.get_pixel(4, 4).0, RED), "{:?}", shown.get_pixel(4, 4));
}

#[test]
fn a_text_or_html_file_is_not_an_image() {
    let html = b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>";
    for upload in [&b"just some text, named photo.jpg"[..], html, b"GIF89a\x01\x00\x01\x00", b""] {
        assert_eq!(prepare(upload), Err(PhotoError::NotAnImage));
    }
}

#[test]
fn a_truncated_jpeg_is_refused_as_corrupt() {
    let whole = jpeg(256, 256, |x, y| [(x * 7 + y * 3) as u8, (x ^ y) as u8, (x * y) as u8]);

    for cut in [4, 40, whole.len() / 2] {
        let result = prepare(&whole[..cut]);
        assert!(matches!(result, Err(PhotoError::Corrupt(_))), "cut at {cut}: {result:?}");
    }
}

#[test]
fn an_upload_over_the_byte_limit_is_refused_before_anything_else() {
    let limits = PhotoLimits { max_bytes: 1000, ..PhotoLimits::default() };
    let upload = vec![0u8; 1001];

    assert_eq!(prepare_photo(&upload, &limits), Err(PhotoError::TooLarge { bytes: 1001, max: 1000 }));
    let default_max = PhotoLimits::default().max_bytes;
    assert_eq!(default_max, 20 * 1024 * 1024);
    assert!(matches!(prepare(&vec![0xFF; default_max + 1]), Err(PhotoError::TooLarge { .. })));
}

#[test]
fn a_png_decompression_bomb_is_refused_from_its_header() {
    let bomb = png_claiming(100_000, 100_000);
    assert!(bomb.len() < 100);

    assert_eq!(
        prepare(&bomb),
        Err(PhotoError::TooManyPixels { width: 100_000, height: 100_000, max_pixels: 50_000_000 })
    );
}

#[test]
fn a_jpeg_decompression_bomb_is_refused_from_its_header() {
    let bomb = jpeg_claiming(65_000, 65_000);

    assert_eq!(
        prepare(&bomb),
        Err(PhotoError::TooManyPixels { width: 65_000, height: 65_000, max_pixels: 50_000_000 })
    );
}

#[test]
fn an_absurdly_long_strip_is_refused_from_its_header() {
    assert_eq!(
        prepare(&png_claiming(20_000, 100)),
        Err(PhotoError::DimensionTooLarge { width: 20_000, height: 100, max_dimension: 12_000 })
    );
}

#[test]
fn headers_are_read_without_decoding() {
    let read = |bytes: &[u8]| header::read(bytes).map(|h| (h.format, h.width, h.height));

    assert_eq!(read(&jpeg(40, 24, |_, _| WHITE)), Ok((Format::Jpeg, 40, 24)));
    assert_eq!(read(&png_claiming(7, 9)), Ok((Format::Png, 7, 9)));
    assert_eq!(read(&webp(33, 21, |_, _| WHITE)), Ok((Format::WebP, 33, 21)));
    // Lossy VP8: frame tag, start code, then 14-bit width and height.
    let vp8 = [&b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0"[..], &[0, 0, 0, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01]].concat();
    assert_eq!(read(&vp8), Ok((Format::WebP, 640, 480)));
    // Extended VP8X: 24-bit canvas width − 1 and height − 1.
    let vp8x = [&b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0"[..], &[0x10, 0, 0, 0, 0x7F, 0x07, 0, 0x37, 0x04, 0]].concat();
    assert_eq!(read(&vp8x), Ok((Format::WebP, 1920, 1080)));
    assert!(matches!(read(&b"\x89PNG\r\n\x1a\n"[..]), Err(PhotoError::Corrupt(_))));
}

#[test]
fn the_long_edge_is_fitted_and_never_grown() {
    assert_eq!(resize::fit_within(4000, 3000, 2048), (2048, 1536));
    assert_eq!(resize::fit_within(3000, 4000, 2048), (1536, 2048));
    assert_eq!(resize::fit_within(2048, 1536, 400), (400, 300));
    assert_eq!(resize::fit_within(12_000, 1, 2048), (2048, 1));
    assert_eq!(resize::fit_within(300, 200, 2048), (300, 200));
    assert_eq!(resize::fit_within(2048, 2048, 2048), (2048, 2048));
}
