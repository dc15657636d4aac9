import { expect, test, Page } from '@playwright/test';
import { deflateSync } from 'zlib';
import { fillGuestCheckout } from './forms';

// The admin journey: sign in → create a product with two attributes (one a
// brand-new key), a 2 × 2 variant matrix and an image → the storefront lists
// it under that new facet → change its price → the storefront shows it.
// The server is started with VITRINA_ADMIN_EMAIL / VITRINA_ADMIN_PASSWORD
// (scripts/test.sh passes the same values as ADMIN_EMAIL / ADMIN_PASSWORD).

const ADMIN_EMAIL = process.env.ADMIN_EMAIL || 'admin@e2e.test';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || 'e2e admin passphrase';
const shots = process.env.SHOTS;

async function shot(page: Page, name: string) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

// A real PNG (a 240 × 160 two-colour picture), made here so the test needs no fixture file.
function png(width = 240, height = 160): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const stripe = (x + y) % 60 < 30;
      row.set(stripe ? [29, 111, 66] : [240, 201, 58], 1 + x * 3);
    }
    rows.push(row);
  }
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))]);
}

async function signIn(page: Page, email: string, password: string, next: string) {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(next.replace(/[/?]/g, '\\$&') + '$'));
}

test('admin pages refuse visitors (401) and shoppers (403)', async ({ page, request }) => {
  for (const path of ['/admin', '/admin/products', '/admin/products/new', '/admin/orders', '/admin/users', '/admin/audit', '/admin/import']) {
    const res = await request.get(path, { headers: { Accept: 'text/html' }, maxRedirects: 0 });
    expect(res.status(), path).toBe(401);
  }
  const email = `shopper-${Date.now()}@example.com`;
  const reg = await request.post('/api/v1/auth/register', { data: { email, password: 'a long enough passphrase', name: 'Sam Shopper' } });
  expect(reg.status()).toBe(201);
  await signIn(page, email, 'a long enough passphrase', '/account');
  const res = await page.goto('/admin/products');
  expect(res?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: 'Not for your account' })).toBeVisible();
});

test('an admin creates a product with a new attribute, variants and an image; the shop shows it and its new price', async ({ page }) => {
  const n = `${Date.now() % 1_000_000}`;
  const key = `weave_${n}`;
  const name = `Twill Shirt ${n}`;

  await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin');
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.locator('svg.sales-chart rect.bar')).toHaveCount(30);
  // a shop never backed up says so, with the command to run
  await expect(page.getByTestId('last-backup')).toContainText('No backup yet');
  await expect(page.getByTestId('last-backup').locator('code')).toHaveText('vitrina backup --to /backups/');
  await shot(page, 'admin-dashboard');

  await page.getByRole('link', { name: 'Products', exact: true }).click();
  await expect(page.getByRole('heading', { name: 'Products' })).toBeVisible();
  await page.getByRole('link', { name: 'New product' }).first().click();
  await expect(page.getByRole('heading', { name: 'New product' })).toBeVisible();
  await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();

  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Brand', { exact: true }).fill('Vitrina Atelier');
  await page.getByLabel('Category', { exact: true }).fill('clothing/shirts');
  await page.getByLabel('Status', { exact: true }).selectOption('active');
  await page.getByLabel('Description', { exact: true }).fill('A sturdy twill shirt.');

  // two attributes: a brand-new key (text) and a yes/no
  const attrRows = page.locator('table.attrs-table tbody tr');
  await attrRows.nth(0).getByLabel('Attribute name').fill(key);
  await attrRows.nth(0).getByLabel('Value').fill('Herringbone');
  await page.getByRole('button', { name: '+ Add attribute' }).click();
  await attrRows.nth(1).getByLabel('Attribute name').fill('organic');
  await attrRows.nth(1).getByLabel('Type').selectOption('yesno');
  await attrRows.nth(1).getByLabel('Value').selectOption('yes');

  // a 2 × 2 matrix: size S, M × color Red, Blue
  await page.getByRole('button', { name: '+ Add option' }).click();
  await page.getByRole('button', { name: '+ Add option' }).click();
  await page.getByLabel('Option name').nth(0).fill('size');
  await page.getByLabel('Option values').nth(0).fill('S, M');
  await page.getByLabel('Option name').nth(1).fill('color');
  await page.getByLabel('Option values').nth(1).fill('Red, Blue');
  await page.getByLabel('Price for new variants').fill('23.50');
  await page.getByRole('button', { name: 'Generate variants' }).click();
  const variantRows = page.locator('tr.variant-row');
  await expect(variantRows).toHaveCount(4);
  for (let i = 0; i < 4; i++) await variantRows.nth(i).getByLabel('Stock').fill('7');

  // a mistake is shown next to its field and nothing is lost
  await variantRows.nth(0).getByLabel('Price').fill('twenty');
  await page.getByRole('button', { name: 'Create product' }).click();
  await expect(variantRows.nth(0).locator('.field-error')).toHaveText('write a price such as 19.99');
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(name);
  await variantRows.nth(0).getByLabel('Price').fill('23.50');
  await shot(page, 'admin-editor-new');

  await page.getByRole('button', { name: 'Create product' }).click();
  await expect(page.getByText('Product created.')).toBeVisible();
  await expect(page).toHaveURL(/\/admin\/products\/p_[0-9a-f]+/);
  await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();

  // an image: progress, then shown; a renamed text file is refused with a clear message
  await page.locator('#image-files').setInputFiles([{ name: 'shirt.png', mimeType: 'image/png', buffer: png() }]);
  await expect(page.locator('.upload .upload-state').first()).toHaveText('Uploaded');
  await expect(page.locator('.image-item img')).toHaveCount(1);
  await page.locator('#image-files').setInputFiles([{ name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('just some text, not a picture') }]);
  await expect(page.locator('.upload.failed .upload-state')).toContainText('is not a JPEG, PNG, WebP or AVIF image');
  await expect(page.locator('.image-item img')).toHaveCount(1);
  await shot(page, 'admin-editor-images');
  const slug = (await page.locator('.field .hint').first().textContent())!.replace('/p/', '').trim();

  // the storefront lists it under the brand-new facet, with its thumbnail
  await page.goto(`/products?q=${encodeURIComponent(name)}`);
  const facet = page.locator(`[data-facet="${key}"]`);
  await expect(facet).toBeVisible();
  if (!(await facet.evaluate((d) => (d as HTMLDetailsElement).open))) await facet.locator('summary').first().click();
  await facet.getByText('Herringbone').click();
  await expect(page).toHaveURL(new RegExp(`attr\\.${key}=Herringbone`));
  const card = page.locator('a.product-card', { hasText: name });
  await expect(card).toBeVisible();
  await expect(card.locator('img')).toHaveAttribute('src', /-thumb\.jpg$/);
  await expect(card).toContainText('23.50');
  // the yes/no attribute stays typed: a facet "Organic: yes"
  const organic = page.locator('[data-facet="organic"]');
  if (!(await organic.evaluate((d) => (d as HTMLDetailsElement).open))) await organic.locator('summary').first().click();
  await expect(organic.locator('.facet-value')).toHaveText(['yes']);
  await shot(page, 'shop-new-facet');

  // change the price in the panel → the product page shows it at once
  await page.goto('/admin/products');
  await page.getByRole('link', { name }).click();
  await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await expect(page.locator('tr.variant-row')).toHaveCount(4);
  for (let i = 0; i < 4; i++) await page.locator('tr.variant-row').nth(i).getByLabel('Price').fill('19.00');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();

  await page.goto(`/p/${slug}`);
  await expect(page.locator('h1.product-title')).toHaveText(name);
  await expect(page.locator('.product .price').first()).toContainText('19.00');
  await expect(page.locator('dl.attributes, .attributes').first()).toContainText('Herringbone');
  await shot(page, 'shop-product-new-price');

  // the audit log names the price change
  await page.goto('/admin/audit?action=product.update');
  // (the log is written once, in the shop's language: Romanian prices)
  await expect(page.locator('table.audit-table')).toContainText('23,50 lei');
  await expect(page.locator('table.audit-table')).toContainText('19,00 lei');
  await shot(page, 'admin-audit');
});

// Discounts, JavaScript off: an admin creates a coupon in the panel (a
// mistake is said next to its field); a guest enters it in the cart (an
// unknown code is refused next to the field), sees it line by line and in
// the totals, and orders with it; the panel counts the use.
test.describe('a coupon without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('an admin creates a code, a guest orders with it, the panel counts it', async ({ page, browser }) => {
    const code = `E2E${Date.now() % 1_000_000}`;
    await signIn(page, ADMIN_EMAIL, ADMIN_PASSWORD, '/admin/promotions');
    await expect(page.getByRole('heading', { name: 'Promotions', exact: true })).toBeVisible();
    const form = page.locator('#promotion-form');
    await form.getByLabel('Name').fill('End-to-end week');
    await form.getByLabel('Coupon code').fill(code.toLowerCase());
    await form.getByLabel('Discount').selectOption('percent');
    await form.getByLabel('Value').fill('150');
    await form.getByRole('button', { name: 'Save' }).click();
    await expect(page.locator('#promo-value-error')).toBeVisible();
    await expect(page.locator('#promotion-form').getByLabel('Coupon code')).toHaveValue(code.toLowerCase());
    await page.locator('#promotion-form').getByLabel('Value').fill('10');
    await page.locator('#promotion-form').getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('The promotion is saved.')).toBeVisible();
    const row = page.getByTestId('promotion-row').filter({ hasText: code });
    await expect(row).toContainText('−10 %');
    await expect(row.getByTestId('promotion-uses')).toHaveText('0');
    await shot(page, 'promotions');

    const guest = await browser.newContext({ javaScriptEnabled: false });
    const shopper = await guest.newPage();
    await shopper.goto('/products?category=clothing/jeans&in_stock=true&sort=price_asc');
    await shopper.locator('ul.product-grid a.product-card').first().click();
    await shopper.getByRole('button', { name: 'Add to cart', exact: true }).click();
    await shopper.goto('/cart');
    await shopper.getByLabel('Coupon code').fill('NO-SUCH-CODE');
    await shopper.getByRole('button', { name: 'Apply' }).click();
    await expect(shopper.locator('#f-coupon-error')).toHaveText('there is no such coupon code');
    await expect(shopper.getByLabel('Coupon code')).toHaveValue('NO-SUCH-CODE');
    await shopper.getByLabel('Coupon code').fill(code.toLowerCase());
    await shopper.getByRole('button', { name: 'Apply' }).click();
    await expect(shopper.getByTestId('coupon-applied')).toContainText(code);
    await expect(shopper.getByTestId('discount-row')).toContainText(`End-to-end week (${code})`);
    await expect(shopper.getByTestId('cart-total')).toBeVisible();
    await shopper.getByRole('link', { name: 'Checkout' }).click();
    await expect(shopper.getByTestId('checkout-discount')).toBeVisible();
    await fillGuestCheckout(shopper, `coupon-${Date.now()}@example.com`, ['Ioana Reducere', 'Strada Mare 3', '400001', 'Cluj-Napoca', '+40 711 222 333']);
    await shopper.getByRole('button', { name: 'Place order' }).click();
    await expect(shopper.getByText('Thank you! Your order is placed.')).toBeVisible();
    await expect(shopper.getByTestId('order-discount')).toContainText(code);
    await guest.close();

    await page.goto('/admin/promotions');
    await expect(page.getByTestId('promotion-row').filter({ hasText: code }).getByTestId('promotion-uses')).toHaveText('1');
  });
});
