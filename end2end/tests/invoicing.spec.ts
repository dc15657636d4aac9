import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { cheapJeansInCart, fillGuestCheckout } from './forms';

// Selling legally, on a phone (375 px): a cash-on-delivery order is invoiced
// when it ships; the shopper asks to return it from the order page; the
// admin approves, receives and refunds it to the shopper's IBAN on the
// order page; a credit note follows. The panel lists the documents with
// their e-Factura state, filtered to what ANAF has not accepted.

const ADMIN_EMAIL = process.env.ADMIN_EMAIL || 'admin@e2e.test';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || 'e2e admin passphrase';
const shots = process.env.SHOTS;

async function shot(page: Page, name: string) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function adminToken(request: APIRequestContext): Promise<string> {
  const res = await request.post('/api/v1/auth/token', { data: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  expect(res.status()).toBe(200);
  return (await res.json()).access_token;
}

async function signInAdmin(page: Page, next: string) {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('E-mail').fill(ADMIN_EMAIL);
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(next.replace(/[/?]/g, '\\$&')));
}

test.use({ viewport: { width: 375, height: 812 } });

test('a return asked on a phone is approved, received and refunded; a credit note follows', async ({ page, browser, request }) => {
  page.on('dialog', (d) => d.accept());
  await cheapJeansInCart(page);
  await page.goto('/checkout');
  await fillGuestCheckout(page, `return-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`, ['Radu Retur', 'Strada Memorandumului 10', '400114', 'Cluj-Napoca', '+40 744 555 666']);
  await page.getByRole('button', { name: 'Place order' }).click();
  await expect(page.getByText('Thank you! Your order is placed.')).toBeVisible();
  const orderUrl = page.url();
  const orderId = new URL(orderUrl).pathname.split('/').pop()!;

  // the shop ships and delivers it: the invoice is issued when it ships
  const token = await adminToken(request);
  for (const status of ['confirmed', 'shipped', 'delivered']) {
    const res = await request.post(`/api/v1/admin/orders/${orderId}/status`, { headers: { Authorization: `Bearer ${token}` }, data: { status } });
    expect(res.status(), status).toBe(200);
  }
  await page.goto(orderUrl);
  const documents = page.getByTestId('documents');
  await expect(documents.getByTestId('document-row')).toHaveCount(1);
  await expect(documents).toContainText('Invoice');

  // the shopper sends one unit back, to be refunded to their IBAN
  const form = page.getByTestId('return-form');
  await form.locator('input.qty').first().fill('1');
  await form.getByLabel('Why are you returning them? (optional)').fill('Too tight');
  await form.getByLabel('IBAN for the refund').fill('RO49 AAAA 1B31 0075 9384 0000');
  await shot(page, 'return-request-375');
  await form.getByRole('button', { name: 'Send the return request' }).click();
  await expect(page.getByTestId('return-item')).toContainText('Requested');
  await shot(page, 'return-requested-375');
  // the page does not scroll sideways on a phone
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);

  // the admin handles it on the order page, on a phone too
  const admin = await browser.newPage({ viewport: { width: 375, height: 812 } });
  admin.on('dialog', (d) => d.accept());
  await signInAdmin(admin, `/admin/orders/${orderId}`);
  const returns = admin.getByTestId('admin-returns');
  await expect(returns).toContainText('Too tight');
  await returns.getByRole('button', { name: 'Approve the return' }).click();
  await expect(admin.locator('p.notice')).toContainText('approved');
  await admin.getByTestId('admin-returns').getByRole('button', { name: 'Mark received (back into stock)' }).click();
  await expect(admin.locator('p.notice')).toContainText('received');
  const refund = admin.getByTestId('admin-returns');
  await expect(refund.getByLabel('IBAN to send the money to')).toHaveValue(/RO49/);
  await shot(admin, 'admin-return-received-375');
  await refund.getByRole('button', { name: 'Refund to the IBAN' }).click();
  await expect(admin.locator('p.notice')).toContainText('refunded');
  const adminDocs = admin.getByTestId('admin-documents');
  await expect(adminDocs).toContainText('Credit note');
  await expect(adminDocs.locator('tr[data-document]')).toHaveCount(2);
  expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  await shot(admin, 'admin-return-refunded-375');

  // the shopper sees the refund and the credit note
  await page.goto(orderUrl);
  await expect(page.getByTestId('return-item')).toContainText('Refunded');
  await expect(page.getByTestId('documents').getByTestId('document-row')).toHaveCount(2);
  const pdf = await request.get(new URL(await page.getByTestId('documents').getByRole('link').last().getAttribute('href') ?? '', orderUrl).toString());
  expect(pdf.status()).toBe(200);
  expect((await pdf.body()).subarray(0, 4).toString()).toBe('%PDF');
  await admin.close();
});

test('the panel lists documents with their e-Factura state and filters what ANAF has not accepted', async ({ page }) => {
  await signInAdmin(page, '/admin/documents');
  await expect(page.getByRole('heading', { level: 1, name: 'Invoices' })).toBeVisible();
  await expect(page.getByTestId('efactura-banner')).toBeVisible();
  await page.getByLabel('e-Factura').selectOption('not_accepted');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/efactura=not_accepted/);
  // whatever is listed now is not accepted
  for (const state of await page.locator('[data-efactura-state]').evaluateAll((els) => els.map((e) => e.getAttribute('data-efactura-state')))) {
    expect(state).not.toBe('accepted');
  }
  await shot(page, 'admin-documents-not-accepted-375');
});
