//! Thumbnails with the `image` crate (JPEG, PNG and WebP in; JPEG out).
use image::imageops::FilterType;

use crate::ports::Thumbnailer;

pub struct ImageThumbnailer;

/// Decoding never allocates more than this, whatever the file claims.
const MAX_DECODE_BYTES: u64 = 128 * 1024 * 1024;

fn reader(bytes: &[u8]) -> Option<image::ImageReader<std::io::Cursor<&[u8]>>> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(crate::domain::product::MAX_IMAGE_SIDE);
    limits.max_image_height = Some(crate::domain::product::MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    Some(reader)
}

impl Thumbnailer for ImageThumbnailer {
    fn dimensions(&self, bytes: &[u8]) -> Option<(u32, u32)> {
        image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().ok()?.into_dimensions().ok()
    }

    fn thumbnail(&self, bytes: &[u8], max_side: u32) -> Option<Vec<u8>> {
        let img = reader(bytes)?.decode().ok()?;
        let small = if img.width() > max_side || img.height() > max_side { img.resize(max_side, max_side, FilterType::Triangle) } else { img };
        // JPEG has no alpha: transparent pixels become white
        let rgba = small.to_rgba8();
        let mut rgb = image::RgbImage::new(rgba.width(), rgba.height());
        for (x, y, p) in rgba.enumerate_pixels() {
            let a = p[3] as u32;
            let blend = |c: u8| ((c as u32 * a + 255 * (255 - a)) / 255) as u8;
            rgb.put_pixel(x, y, image::Rgb([blend(p[0]), blend(p[1]), blend(p[2])]));
        }
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82).encode_image(&rgb).ok()?;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_a_png_into_a_jpeg_within_the_box() {
        let img = image::RgbaImage::from_pixel(1200, 600, image::Rgba([200, 10, 10, 255]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgba8(img).write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let thumb = ImageThumbnailer.thumbnail(&png, 400).expect("a thumbnail");
        assert_eq!(&thumb[..3], &[0xFF, 0xD8, 0xFF], "JPEG magic");
        let back = image::load_from_memory(&thumb).unwrap();
        assert_eq!((back.width(), back.height()), (400, 200));
        assert!(ImageThumbnailer.thumbnail(b"not an image", 400).is_none());
        assert_eq!(ImageThumbnailer.dimensions(&png), Some((1200, 600)));
    }

}
