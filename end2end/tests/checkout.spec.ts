import { expect, test } from '@playwright/test';
import { fillGuestCheckout } from './forms';

// A guest adds two variants → signs in → the cart is kept → checks out →
// the order appears in the account.
test('guest cart survives sign-in and becomes an order', async ({ page, request }) => {
  const email = `buyer-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const password = 'a long enough passphrase';
  const reg = await request.post('/api/v1/auth/register', { data: { email, password, name: 'Mara Buyer' } });
  expect(reg.status()).toBe(201);

  await page.goto('/products?category=clothing/t-shirts&in_stock=true&sort=price_asc');
  await page.locator('ul.product-grid a.product-card').first().click();
  await expect(page.locator('h1.product-title')).toBeVisible();
  const picker = page.locator('nav.variant-picker');

  // first variant: whatever is preselected (an in-stock one)
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page.getByText('Added to your cart')).toBeVisible();
  const firstSku = await page.getByTestId('selected-sku').textContent();

  // second variant: another available size
  const other = picker.locator('a.option[data-axis="size"]:not(.unavailable):not(.selected)').first();
  await other.click();
  await expect(page.getByTestId('selected-sku')).not.toHaveText(firstSku ?? '');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await expect(page.getByText('Added to your cart')).toBeVisible();
  await expect(page.getByTestId('cart-count')).toHaveText('2');

  // sign in: the guest cart is kept
  await page.goto('/login?next=/cart');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.locator('li.cart-line')).toHaveCount(2);

  // checkout: a missing field is reported next to it, nothing is lost
  await page.getByRole('link', { name: 'Checkout' }).click();
  await expect(page.getByRole('heading', { name: 'Checkout' })).toBeVisible();
  await page.getByLabel('Street and number').fill('Strada Lungă 12');
  await page.getByLabel('Postal code').fill('400001');
  await page.getByLabel('City').fill('Cluj-Napoca');
  await page.getByLabel('Phone (for the courier)').fill('12');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.locator('#f-phone-error')).toBeVisible();
  await expect(page.getByLabel('City')).toHaveValue('Cluj-Napoca');
  await page.getByLabel('Phone (for the courier)').fill('+40 712 345 678');
  await page.getByRole('button', { name: 'Place order' }).click();

  await expect(page.getByText('Thank you! Your order is placed.')).toBeVisible();
  const number = (await page.getByTestId('order-number').textContent())!.trim();
  expect(number).toMatch(/^VT-\d{6}$/);
  await expect(page.getByTestId('cart-count')).toHaveText('0');

  await page.goto('/account/orders');
  await expect(page.getByTestId('order-link').filter({ hasText: number })).toBeVisible();
});

// A guest with JavaScript off: no account, an e-mail address, the order by its
// link, then an account in one step with the order in it.
test.describe('guest checkout without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a guest orders, sees the order by its link, and keeps it in a new account', async ({ page, browser }) => {
    const email = `guest-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    await page.goto('/products?category=clothing/jeans&in_stock=true&sort=price_asc');
    await page.locator('ul.product-grid a.product-card').first().click();
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await expect(page.getByText('Added to your cart')).toBeVisible();

    await page.goto('/cart');
    await page.getByRole('link', { name: 'Checkout' }).click();
    await expect(page.getByTestId('guest-contact')).toBeVisible();
    await fillGuestCheckout(page, email, ['Ioana Guest', 'Bulevardul Unirii 1', '030167', 'București', '+40 711 111 111']);
    await page.getByRole('button', { name: 'Place order' }).click();

    await expect(page.getByText('Thank you! Your order is placed.')).toBeVisible();
    const number = (await page.getByTestId('order-number').textContent())!.trim();
    const link = new URL(page.url());
    expect(link.pathname).toMatch(/^(\/en)?\/orders\/o_/);
    const token = link.searchParams.get('token')!;
    expect(token.length).toBeGreaterThanOrEqual(40);

    // the link alone shows the order in another browser; a changed token shows nothing
    const other = await browser.newContext({ javaScriptEnabled: false });
    const elsewhere = await other.newPage();
    await elsewhere.goto(`${link.pathname}?token=${token}`);
    await expect(elsewhere.getByRole('heading', { name: `Order ${number}` })).toBeVisible();
    const changed = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const res = await elsewhere.goto(`${link.pathname}?token=${changed}`);
    expect(res?.status()).toBe(404);
    await other.close();

    // one step to an account: the order is in it
    await expect(page.getByTestId('claim-order')).toContainText(email);
    await page.getByLabel('Password (at least 10 characters)').fill('a long guest passphrase');
    await page.getByRole('button', { name: 'Create my account' }).click();
    await expect(page.getByText('Your account is ready and this order is in it.')).toBeVisible();
    await page.goto('/account/orders');
    await expect(page.getByTestId('order-link').filter({ hasText: number })).toBeVisible();
  });
});

// Paying by bank transfer with JavaScript off: the order waits, showing where
// to send the money; an admin marks it paid in the panel and it goes ahead.
test.describe('bank transfer without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a guest pays by bank transfer and an admin marks it paid', async ({ page, browser }) => {
    const email = `transfer-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    await page.goto('/products?category=clothing/jeans&in_stock=true&sort=price_asc');
    await page.locator('ul.product-grid a.product-card').first().click();
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.goto('/checkout');
    await fillGuestCheckout(page, email, ['Radu Transfer', 'Strada Mare 2', '400001', 'Cluj-Napoca', '+40 722 222 222']);
    await page.getByLabel('Bank transfer').check();
    await page.getByRole('button', { name: 'Place order' }).click();

    await expect(page.getByTestId('order-status')).toHaveText('Awaiting payment');
    const transfer = page.getByTestId('bank-transfer');
    await expect(transfer).toContainText('IBAN');
    const number = (await page.getByTestId('order-number').textContent())!.trim();
    await expect(transfer).toContainText(number);
    const orderId = new URL(page.url()).pathname.split('/').pop()!;

    const admin = await browser.newContext({ javaScriptEnabled: true });
    const panel = await admin.newPage();
    await panel.goto(`/login?next=${encodeURIComponent(`/admin/orders/${orderId}`)}`);
    await panel.getByLabel('E-mail').fill(process.env.ADMIN_EMAIL || 'admin@e2e.test');
    await panel.getByLabel('Password').fill(process.env.ADMIN_PASSWORD || 'e2e admin passphrase');
    await panel.getByRole('button', { name: 'Sign in' }).click();
    await expect(panel.getByTestId('admin-payment')).toContainText('Not paid yet');
    panel.once('dialog', (d) => d.accept());
    await panel.getByRole('button', { name: 'Mark as paid' }).click();
    await expect(panel.getByRole('status')).toContainText(`Order ${number} is paid`);
    await expect(panel.getByTestId('admin-payment')).toContainText('Paid');
    await admin.close();

    await page.reload();
    await expect(page.getByTestId('order-status')).toHaveText('Placed');
    await expect(page.getByTestId('payment-status')).toContainText('Paid');
    await expect(page.getByTestId('bank-transfer')).toHaveCount(0);
  });
});
