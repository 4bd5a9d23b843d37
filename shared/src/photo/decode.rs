//! Bytes → RGB pixels and the orientation the file asks for, within limits.
//!
//! Called only after [`super::header`] has checked the claimed dimensions, so the allocations
//! here are bounded; the decoders are still given their own limits in case a file's frames
//! disagree with its header.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use jpeg_decoder::PixelFormat;

use super::header::{Format, Header};
use super::{PhotoError, PhotoLimits};

/// Decoded pixels, not yet turned upright.
pub(super) struct Decoded {
    /// RGB pixels; for a JPEG possibly already shrunk on load, never below the target long edge.
    pub image: RgbImage,
    /// What the file's EXIF says to do to show it upright.
    pub orientation: Orientation,
}

/// Decodes a file whose header has passed the size checks.
pub(super) fn decode(bytes: &[u8], header: Header, limits: &PhotoLimits) -> Result<Decoded, PhotoError> {
    match header.format {
        Format::Jpeg => decode_jpeg(bytes, limits),
        Format::Png => decode_with_image(bytes, ImageFormat::Png, limits),
        Format::WebP => decode_with_image(bytes, ImageFormat::WebP, limits),
    }
}

fn corrupt(error: impl std::fmt::Display) -> PhotoError {
    PhotoError::Corrupt(error.to_string())
}

/// JPEG with shrink-on-load: the IDCT outputs 1/8, 1/4, 1/2 or full scale, and we ask for the
/// smallest scale whose long edge still reaches `long_edge`. A 6000×4000 photo is decoded at
/// 3000×2000, never at 24 MP; this is where most of libvips' speed comes from.
fn decode_jpeg(bytes: &[u8], limits: &PhotoLimits) -> Result<Decoded, PhotoError> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    // 4 bytes a pixel covers CMYK, the widest output.
    let max_buffer = limits.max_pixels.saturating_mul(4);
    decoder.set_max_decoding_buffer_size(usize::try_from(max_buffer).unwrap_or(usize::MAX));

    // `scale` picks the smallest factor whose width *or* height reaches the request; asking for
    // a square makes that the long edge, whichever way the photo is turned.
    let target = u16::try_from(limits.long_edge.max(1)).unwrap_or(u16::MAX);
    decoder.scale(target, target).map_err(corrupt)?;
    let pixels = decoder.decode().map_err(corrupt)?;
    let info = decoder.info().ok_or_else(|| corrupt("no frame header"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));

    let orientation = decoder.exif_data().and_then(Orientation::from_exif_chunk).unwrap_or(Orientation::NoTransforms);

    let pixel_count = info.width as usize * info.height as usize;
    let expected = pixel_count * info.pixel_format.pixel_bytes();
    if pixels.len() != expected {
        return Err(corrupt(format!("decoded {} bytes, expected {expected}", pixels.len())));
    }
    let rgb = match info.pixel_format {
        PixelFormat::RGB24 => pixels,
        PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        PixelFormat::CMYK32 => cmyk_to_rgb(&pixels),
        PixelFormat::L16 => return Err(corrupt("16-bit lossless JPEG is not supported")),
    };
    let image = RgbImage::from_raw(width, height, rgb).ok_or_else(|| corrupt("short buffer"))?;
    Ok(Decoded { image, orientation })
}

/// `jpeg-decoder` hands CMYK (and YCCK) back as ink amounts, 0 = no ink, having already undone
/// Adobe's inverted storage. Naive conversion without a colour profile: good enough for a photo
/// of a pothole, and such files are rare (they come from print workflows, not phones).
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let white = 255 - u32::from(px[3]);
        for &ink in &px[..3] {
            let value = ((255 - u32::from(ink)) * white + 127) / 255;
            rgb.push(value as u8);
        }
    }
    rgb
}

/// PNG and WebP through `image`, with its own limits as a second line of defence.
fn decode_with_image(bytes: &[u8], format: ImageFormat, limits: &PhotoLimits) -> Result<Decoded, PhotoError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_dimension);
    image_limits.max_image_height = Some(limits.max_dimension);
    // 8 bytes a pixel covers 16-bit RGBA, the widest layout these decoders produce.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(image_limits);

    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    // A broken EXIF chunk is no reason to refuse a photo: show it as stored.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    Ok(Decoded { image: flatten_onto_white(image), orientation })
}

/// JPEG has no alpha: transparent areas become white (what a viewer shows them on), not the
/// black that dropping the channel would give.
fn flatten_onto_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for px in rgba.as_raw().chunks_exact(4) {
        let alpha = u32::from(px[3]);
        for &c in &px[..3] {
            rgb.push(((u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(width, height, rgb).expect("buffer sized from the image's dimensions")
}
