//! Product images: only real images, size-limited, to S3 or to disk, shown on the storefront.
mod common;

use common::{spawn_app, spawn_app_with, TestApp};
use serde_json::{json, Value};
use vitrina::domain::user::Role;

/// A real 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08,
    0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0, 0x1F, 0x00,
    0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

async fn admin_and_product(app: &TestApp) -> (String, String, String) {
    app.state.accounts.register("img@example.com", "a sturdy passphrase", "Img", Role::Admin).await.unwrap();
    let res = app.client.post(format!("{}/api/v1/auth/token", app.base)).json(&json!({"email": "img@example.com", "password": "a sturdy passphrase"})).send().await.unwrap();
    let token = res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    let body = json!({"name": "Lamp With Picture", "category": "home/lighting", "status": "active",
        "variants": [{"sku": "LAMP-PIC", "options": {}, "price": {"amount": 2500, "currency": "RON"}, "stock": 3}]});
    let p: Value = app.client.post(format!("{}/api/v1/admin/products", app.base)).bearer_auth(&token).json(&body).send().await.unwrap().json().await.unwrap();
    (token, p["id"].as_str().unwrap().to_string(), p["slug"].as_str().unwrap().to_string())
}

async fn upload(app: &TestApp, token: &str, id: &str, bytes: Vec<u8>, name: &str) -> (u16, Value) {
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str("image/jpeg").unwrap())
        .text("alt", "A lamp, lit");
    let res = app.client.post(format!("{}/api/v1/admin/products/{id}/images", app.base)).bearer_auth(token).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_go_to_disk_and_fakes_and_giants_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let d = data.clone();
    let app = spawn_app_with(0, move |c| c.data_dir = d).await;
    let (token, id, slug) = admin_and_product(&app).await;

    let (status, problem) = upload(&app, &token, &id, b"just text, renamed to look like a photo".to_vec(), "photo.jpg").await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "file");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("is not a JPEG, PNG, WebP or AVIF image"), "{problem}");

    let (status, _) = upload(&app, &token, &id, vec![0xFF; 10 * 1024 * 1024 + 1], "huge.jpg").await;
    assert_eq!(status, 413);

    let (status, product) = upload(&app, &token, &id, PNG.to_vec(), "lamp.png").await;
    assert_eq!(status, 200, "{product}");
    let url = product["images"][0]["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("/media/products/") && url.ends_with(".png"), "{url}");
    assert_eq!(product["images"][0]["alt"], "A lamp, lit");
    let key = url.trim_start_matches("/media/");
    assert_eq!(std::fs::read(data.join("images").join(key)).unwrap(), PNG, "on disk under the data dir");
    let res = app.get(&url).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PNG);
    let page = app.get(&format!("/p/{slug}")).await.text().await.unwrap();
    assert!(page.contains(&url), "the storefront shows the image");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_go_to_s3_when_configured() {
    let Some(endpoint) = common::s3_endpoint() else { return };
    let bucket = common::unique_name("vitrina").replace('_', "-");
    let (b, e) = (bucket.clone(), endpoint.clone());
    let app = spawn_app_with(0, move |c| {
        c.s3_bucket = Some(b);
        c.s3_endpoint = Some(e);
    })
    .await;
    let (token, id, slug) = admin_and_product(&app).await;
    let (status, product) = upload(&app, &token, &id, PNG.to_vec(), "lamp.png").await;
    assert_eq!(status, 200, "{product}");
    let url = product["images"][0]["url"].as_str().unwrap().to_string();
    let key = url.trim_start_matches("/media/").to_string();

    // the object is in the bucket, read back with the S3 API itself
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).load().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&shared).endpoint_url(&endpoint).force_path_style(true).build());
    let obj = s3.get_object().bucket(&bucket).key(&key).send().await.expect("object in the bucket");
    assert_eq!(obj.content_type(), Some("image/png"));
    assert_eq!(obj.body.collect().await.unwrap().into_bytes().as_ref(), PNG);
    // nothing on local disk, and the storefront shows it
    assert!(!app._dir.path().join("images").join(&key).exists());
    assert_eq!(app.get(&url).await.bytes().await.unwrap().as_ref(), PNG);
    assert!(app.get(&format!("/p/{slug}")).await.text().await.unwrap().contains(&url));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_upload() {
    let app = spawn_app(0).await;
    let (_, id, _) = admin_and_product(&app).await;
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(PNG.to_vec()));
    let res = app.client.post(format!("{}/api/v1/admin/products/{id}/images", app.base)).multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_are_decoded_with_limits_and_lose_their_metadata() {
    let app = spawn_app_with(0, |c| c.max_image_bytes = 64 * 1024).await;
    let (token, id, _) = admin_and_product(&app).await;
    // a 100-byte PNG that declares 100,000 × 100,000 pixels: refused from its header
    let (status, problem) = upload(&app, &token, &id, common::png_declaring(100_000, 100_000), "bomb.png").await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("100000 × 100000 pixels"), "{problem}");
    // a phone photo with its GPS position in EXIF: stored without it
    let img = image::RgbImage::from_pixel(32, 24, image::Rgb([20, 120, 200]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(img).write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg).unwrap();
    let exif = b"Exif\0\0GPSLatitude 46.7712N GPSLongitude 23.6236E";
    let mut with_exif = jpeg[..2].to_vec();
    with_exif.extend_from_slice(&[0xFF, 0xE1]);
    with_exif.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(exif);
    with_exif.extend_from_slice(&jpeg[2..]);
    let (status, product) = upload(&app, &token, &id, with_exif, "photo.jpg").await;
    assert_eq!(status, 200, "{product}");
    let stored = app.get(product["images"][0]["url"].as_str().unwrap()).await.bytes().await.unwrap();
    assert!(!stored.windows(11).any(|w| w == b"GPSLatitude"), "the position is gone");
    assert_eq!(image::load_from_memory(&stored).unwrap().width(), 32, "the picture is intact");
    // a lowered limit holds while the body streams
    let mut big = vec![0xFF, 0xD8, 0xFF];
    big.resize(200 * 1024, 0);
    let (status, _) = upload(&app, &token, &id, big, "big.jpg").await;
    assert_eq!(status, 413);
    // /media serves only what the shop wrote (a fresh connection: the server
    // closed the one whose upload it refused half-way)
    let res = reqwest::Client::new().get(format!("{}/media/secrets/passwords.txt", app.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 404);
}

/// Found by the API fuzzing: a body that is not multipart (or has no
/// boundary) was refused as plain text; it is problem+json naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_is_not_multipart_is_refused_as_problem_json() {
    let app = spawn_app(0).await;
    let (token, id, _) = admin_and_product(&app).await;
    for content_type in ["multipart/form-data", "application/json", "text/plain"] {
        let res = app.client.post(format!("{}/api/v1/admin/products/{id}/images", app.base)).bearer_auth(&token).header("content-type", content_type).body("{}").send().await.unwrap();
        assert_eq!(res.status(), 422, "{content_type}");
        assert_eq!(res.headers()["content-type"], "application/problem+json", "{content_type}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["errors"][0]["field"], "file", "{problem}");
    }
}
