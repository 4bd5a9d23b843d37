//! What a file says it is, read from its first bytes only.
//!
//! The format comes from magic bytes, never from a file name or a content type. The dimensions
//! come from the format's header (JPEG SOF, PNG IHDR, WebP VP8/VP8L/VP8X), so a decompression
//! bomb is refused before a single pixel buffer is allocated. Nothing here allocates.

use super::PhotoError;

/// The formats we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Jpeg,
    Png,
    WebP,
}

/// A format and the dimensions its header claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Recognises the format from its magic bytes alone.
pub(super) fn sniff(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if bytes.starts_with(PNG_SIGNATURE) {
        Some(Format::Png)
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Format::WebP)
    } else {
        None
    }
}

/// Sniffs the format and reads the claimed dimensions.
///
/// Unknown magic is [`PhotoError::NotAnImage`]; known magic with a header we cannot read (cut
/// short, zero-sized, no frame header) is [`PhotoError::Corrupt`].
pub(super) fn read(bytes: &[u8]) -> Result<Header, PhotoError> {
    let format = sniff(bytes).ok_or(PhotoError::NotAnImage)?;
    let (width, height) = match format {
        Format::Jpeg => jpeg_dimensions(bytes),
        Format::Png => png_dimensions(bytes),
        Format::WebP => webp_dimensions(bytes),
    }
    .ok_or_else(|| PhotoError::Corrupt(format!("unreadable {format:?} header")))?;
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt(format!("{format:?} header claims {width}×{height}")));
    }
    Ok(Header { format, width, height })
}

fn be16(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 2)?;
    Some(u32::from(u16::from_be_bytes([b[0], b[1]])))
}

fn le16(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 2)?;
    Some(u32::from(u16::from_le_bytes([b[0], b[1]])))
}

fn le24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 3)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

/// Walks the JPEG marker segments up to the first frame header (SOF0–SOF15 except DHT, JPG and
/// DAC) and returns its width and height.
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let mut at = 2; // after SOI
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes.
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while *bytes.get(at)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at)?;
        at += 1;
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => continue,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                // Length (2), precision (1), height (2), width (2).
                let height = be16(bytes, at + 3)?;
                let width = be16(bytes, at + 5)?;
                return Some((width, height));
            }
            // Scan data or the end before any frame header: no dimensions to be had.
            0xD8..=0xDA => return None, // SOI, EOI, SOS
            _ => {
                let length = usize::try_from(be16(bytes, at)?).ok()?;
                if length < 2 {
                    return None;
                }
                at += length;
            }
        }
    }
}

/// The IHDR chunk always comes first, right after the signature.
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((width, height))
}

/// The first chunk after "RIFF....WEBP" is VP8X (extended: canvas size), VP8L (lossless) or
/// "VP8 " (lossy); each stores the size differently.
fn webp_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    match bytes.get(12..16)? {
        b"VP8X" => Some((le24(bytes, 24)? + 1, le24(bytes, 27)? + 1)),
        b"VP8L" => {
            if *bytes.get(20)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes(bytes.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8 " => {
            if bytes.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            Some((le16(bytes, 26)? & 0x3FFF, le16(bytes, 28)? & 0x3FFF))
        }
        _ => None,
    }
}
