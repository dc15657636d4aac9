import { expect, test } from '@playwright/test';
import { cheapJeansInCart, chooseCounty, fillGuestCheckout } from './forms';

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
  await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
  await expect(page.getByText('Added to your cart')).toBeVisible();
  const firstSku = await page.getByTestId('selected-sku').textContent();

  // second variant: another available size
  const other = picker.locator('a.option[data-axis="size"]:not(.unavailable):not(.selected)').first();
  await other.click();
  await expect(page.getByTestId('selected-sku')).not.toHaveText(firstSku ?? '');
  await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
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
  await chooseCounty(page, 'Cluj');
  await page.getByLabel('Phone (for the courier)').fill('12');
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.locator('#f-phone-error')).toBeVisible();
  await expect(page.getByLabel('City')).toHaveValue('Cluj-Napoca');
  await expect(page.getByLabel('County')).toHaveValue('RO-CJ');
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
    await cheapJeansInCart(page);

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
    await cheapJeansInCart(page);
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

// Paying by card on localstripe (Stripe's stand-in, with its own Stripe.js):
// the order waits for its payment, the provider's card field is on the order
// page, 3-D Secure is asked and passed, and the page shows the order paid.
// localstripe's Stripe.js ignores the card typed into its field and only runs
// the 3-D Secure step of an intent that already has a card: the test attaches
// the 3-D Secure test card and confirms at localstripe first, as Stripe.js
// would have done with the typed card.
test('a guest pays by card with 3-D Secure and the order page shows it paid', async ({ page, request }) => {
  const stripe = process.env.STRIPE_URL;
  test.skip(!stripe, 'no localstripe (STRIPE_URL) in this run');
  const email = `card-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  await cheapJeansInCart(page);
  await page.goto('/checkout');
  await fillGuestCheckout(page, email, ['Maria Card', 'Strada Florilor 3', '300001', 'Timișoara', '+40 733 333 333']);
  await page.getByRole('radio', { name: /^Card/ }).check();
  await page.getByRole('button', { name: 'Place order' }).click();

  await expect(page.getByTestId('order-status')).toHaveText('Awaiting payment');
  const panel = page.getByTestId('card-payment');
  await expect(panel).toContainText('Pay by card');
  const pay = panel.getByRole('button', { name: /^Pay / });
  await expect(pay).toBeEnabled(); // the provider's script loaded and its card field is mounted
  await expect(panel.locator('.card-element input').first()).toBeVisible();

  // a payment the provider will not take: a clear message, nothing charged, the form stays
  await pay.click();
  await page.getByRole('button', { name: 'Fail authentication' }).click();
  await expect(panel.locator('.field-error')).toContainText('nothing was charged');
  await expect(pay).toBeEnabled();

  // the card, as Stripe.js would attach it, then 3-D Secure in the browser
  const secret = (await page.locator('#card-form').getAttribute('data-secret'))!;
  const intent = secret.split('_secret_')[0];
  const auth = { Authorization: 'Bearer sk_test_e2e' };
  const pm = await (await request.post(`${stripe}/v1/payment_methods`, { headers: auth, form: { type: 'card', 'card[number]': '4000002500003155', 'card[exp_month]': '12', 'card[exp_year]': '2030', 'card[cvc]': '123' } })).json();
  expect((await request.post(`${stripe}/v1/payment_intents/${intent}`, { headers: auth, form: { payment_method: pm.id } })).ok()).toBeTruthy();
  const confirmed = await (await request.post(`${stripe}/v1/payment_intents/${intent}/confirm`, { headers: auth })).json();
  expect(confirmed.status).toBe('requires_action');

  await pay.click();
  await page.getByRole('button', { name: 'Complete authentication' }).click();
  await expect(page.getByTestId('order-status')).toHaveText('Placed');
  await expect(page.getByTestId('payment-status')).toContainText('Paid');
  await expect(page.getByTestId('card-payment')).toHaveCount(0);
});
