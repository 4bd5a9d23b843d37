//! The photo pipeline: an uploaded file in, a clean upright JPEG and its thumbnail out.
//!
//! Pure computation on bytes. The server runs it on every upload (never trust a client) and the
//! phone runs it before uploading (saves data, and GPS in EXIF never leaves the phone; a report's
//! location is an explicit field).
//!
//! [`prepare_photo`] goes, in order:
//! 1. size check on the bytes;
//! 2. format from magic bytes (JPEG, PNG, WebP), never from a name or content type;
//! 3. dimensions from the header only, and the decompression-bomb check, before any pixel
//!    buffer exists;
//! 4. decode with limits; a JPEG is shrunk on load inside the IDCT (1/2, 1/4, 1/8), so a 12 MP
//!    photo is only decoded at full size when it must be;
//! 5. resize with Lanczos3 to the long edge (never up), turn upright per EXIF orientation;
//! 6. the thumbnail from the resized image, not the original;
//! 7. re-encode both as baseline JPEG. Encoding from pixels writes no metadata at all: EXIF and
//!    its GPS, XMP, ICC profiles and comments are gone by construction.
//!
//! Hashing the result (the tus checksum, content addressing) is the caller's job, so this crate
//! stays free of crypto dependencies.
//!
//! # Layout
//! - `header`: magic bytes and header-only dimensions.
//! - `decode`: bytes → RGB pixels + orientation, with shrink-on-load for JPEG.
//! - `resize`: fit within a long edge, never upscale.

mod decode;
mod header;
mod resize;
#[cfg(test)]
mod tests;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, RgbImage};

/// How much we accept and what we produce. [`Default`] is the server's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest accepted file, in bytes. Default 20 MiB.
    pub max_bytes: usize,
    /// Largest accepted width × height, as claimed by the header. Default 50 megapixels.
    pub max_pixels: u64,
    /// Largest accepted width or height, as claimed by the header. Default 12 000.
    pub max_dimension: u32,
    /// Long edge of the full-size output, in pixels; smaller photos keep their size. Default 2048.
    pub long_edge: u32,
    /// Long edge of the thumbnail, in pixels. Default 400.
    pub thumb_long_edge: u32,
    /// JPEG quality of both outputs, 1–100. Default 82.
    pub jpeg_quality: u8,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_dimension: 12_000,
            long_edge: 2048,
            thumb_long_edge: 400,
            jpeg_quality: 82,
        }
    }
}

/// A photo ready to store: upright, resized, re-encoded, without any metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedPhoto {
    /// The full-size image, baseline JPEG.
    pub full: Vec<u8>,
    /// The thumbnail, baseline JPEG.
    pub thumb: Vec<u8>,
    /// Width of `full`, in pixels, after orientation.
    pub width: u32,
    /// Height of `full`, in pixels, after orientation.
    pub height: u32,
    /// Width of `thumb`, in pixels.
    pub thumb_width: u32,
    /// Height of `thumb`, in pixels.
    pub thumb_height: u32,
}

impl std::fmt::Debug for PreparedPhoto {
    // The JPEG bytes are noise in a log; their sizes are what matters.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPhoto")
            .field("full", &format_args!("{} bytes", self.full.len()))
            .field("thumb", &format_args!("{} bytes", self.thumb.len()))
            .field("width", &self.width)
            .field("height", &self.height)
            .field("thumb_width", &self.thumb_width)
            .field("thumb_height", &self.thumb_height)
            .finish()
    }
}

/// Why a photo was refused. Each variant is a distinct, user-fixable reason except
/// [`PhotoError::Corrupt`], whose text is for logs rather than for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    /// The file is larger than [`PhotoLimits::max_bytes`].
    #[error("the photo is {bytes} bytes; at most {max} bytes are accepted")]
    TooLarge {
        /// Size of the upload.
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// The bytes are not a JPEG, PNG or WebP file (judged by their magic bytes).
    #[error("the file is not a JPEG, PNG or WebP image")]
    NotAnImage,
    /// The header claims more than [`PhotoLimits::max_pixels`]: refused before decoding, since
    /// a small file can claim gigapixels (a decompression bomb).
    #[error("the photo is {width}×{height} pixels; at most {max_pixels} pixels are accepted")]
    TooManyPixels {
        /// Width claimed by the header.
        width: u32,
        /// Height claimed by the header.
        height: u32,
        /// The limit.
        max_pixels: u64,
    },
    /// The header claims a side longer than [`PhotoLimits::max_dimension`] (a panorama strip
    /// can be few pixels yet absurdly long).
    #[error("the photo is {width}×{height} pixels; no side may exceed {max_dimension} pixels")]
    DimensionTooLarge {
        /// Width claimed by the header.
        width: u32,
        /// Height claimed by the header.
        height: u32,
        /// The limit.
        max_dimension: u32,
    },
    /// A JPEG, PNG or WebP that cannot be decoded: truncated, damaged, or using a feature the
    /// decoders lack. The text is the decoder's, for logs.
    #[error("the photo could not be decoded: {0}")]
    Corrupt(String),
}

/// Checks, decodes, orients, resizes and re-encodes an uploaded photo.
///
/// The checks that need no decoding (bytes, format, claimed dimensions) come first, so a hostile
/// file costs almost nothing to refuse. The outputs carry no metadata of any kind.
pub fn prepare_photo(bytes: &[u8], limits: &PhotoLimits) -> Result<PreparedPhoto, PhotoError> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge { bytes: bytes.len(), max: limits.max_bytes });
    }
    let header = header::read(bytes)?;
    let (width, height) = (header.width, header.height);
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PhotoError::TooManyPixels { width, height, max_pixels: limits.max_pixels });
    }
    if width.max(height) > limits.max_dimension {
        return Err(PhotoError::DimensionTooLarge { width, height, max_dimension: limits.max_dimension });
    }

    // The decoders are fuzzed but parse hostile input; should one still panic, that is one bad
    // file, not a reason to take down the phone app or a server worker.
    let decoded = std::panic::catch_unwind(|| decode::decode(bytes, header, limits))
        .unwrap_or_else(|_| Err(PhotoError::Corrupt("the decoder panicked".to_owned())))?;
    // Resize before turning upright: rotating the smaller image is cheaper, and the long edge is
    // the same either way.
    let full = resize::shrink_to_fit(&decoded.image, limits.long_edge).unwrap_or(decoded.image);
    let mut full = DynamicImage::ImageRgb8(full);
    full.apply_orientation(decoded.orientation);
    let full = full.into_rgb8();
    let thumb = resize::shrink_to_fit(&full, limits.thumb_long_edge);
    let thumb = thumb.as_ref().unwrap_or(&full);

    Ok(PreparedPhoto {
        width: full.width(),
        height: full.height(),
        thumb_width: thumb.width(),
        thumb_height: thumb.height(),
        full: encode_jpeg(&full, limits.jpeg_quality)?,
        thumb: encode_jpeg(thumb, limits.jpeg_quality)?,
    })
}

/// Baseline JPEG from bare pixels: nothing but JFIF, tables and scan data is written.
fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let mut out = Vec::with_capacity(image.as_raw().len() / 8);
    JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(image)
        .map_err(|e| PhotoError::Corrupt(format!("re-encoding failed: {e}")))?;
    Ok(out)
}
