//! Shrinking to fit a long edge, never enlarging.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

/// The size that fits `width`×`height` within `long_edge` on its longer side, keeping the aspect
/// ratio; the size itself if it already fits (we never upscale). No side drops below 1 px.
pub(super) fn fit_within(width: u32, height: u32, long_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    let long_edge = long_edge.max(1);
    if long <= long_edge {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(long_edge) + u64::from(long) / 2) / u64::from(long);
        (scaled as u32).clamp(1, long_edge)
    };
    (scale(width), scale(height))
}

/// `image` shrunk to fit within `long_edge`, or `None` if it already fits.
pub(super) fn shrink_to_fit(image: &RgbImage, long_edge: u32) -> Option<RgbImage> {
    let (width, height) = image.dimensions();
    let (new_width, new_height) = fit_within(width, height, long_edge);
    if (new_width, new_height) == (width, height) {
        return None;
    }
    Some(shrink(image, new_width, new_height))
}

/// Resamples `image` to exactly `width`×`height`.
pub(super) fn shrink(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let src = ImageRef::new(image.width(), image.height(), image.as_raw(), PixelType::U8x3)
        .expect("an RgbImage's buffer is exactly width × height × 3");
    let mut dst = Image::new(width, height, PixelType::U8x3);
    // Lanczos3: the sharpest of the standard downscaling filters without visible ringing on
    // photos; libvips' thumbnail uses the same kernel.
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(&src, &mut dst, &options).expect("source and destination are both U8x3 and non-empty");
    RgbImage::from_raw(width, height, dst.into_vec()).expect("buffer sized by fast_image_resize")
}
