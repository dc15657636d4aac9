import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import os from 'node:os';
import path from 'node:path';
import { fillGuestCheckout } from './forms';

// axe-core (WCAG 2.2 A and AA rules) on every storefront and panel page, with
// JavaScript: no serious or critical violation anywhere.

const ADMIN_EMAIL = process.env.ADMIN_EMAIL || 'admin@e2e.test';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || 'e2e admin passphrase';

// `exclude`: markup that is not ours (the payment provider's card field)
async function audit(page: Page, at: string, exclude?: string) {
  await page.goto(at);
  await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  let axe = new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']);
  if (exclude) axe = axe.exclude(exclude);
  const result = await axe.analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n  ')}`).join('\n');
  expect(bad, `${at}\n${report}`).toEqual([]);
}

async function aProduct(page: Page, query: string): Promise<string> {
  await page.goto(`/products?${query}`);
  const href = await page.locator('ul.product-grid a.product-card').first().getAttribute('href');
  expect(href).toBeTruthy();
  return href!;
}

// One test per page: axe on a debug build under a loaded 2-core machine takes
// seconds a page, and a page's own timeout keeps a slow one from starving the rest.
test.describe('accessibility (axe-core): storefront', () => {
  for (const path of ['/', '/products', '/c/clothing', '/products?q=jeans&attr.size=M', '/products?q=zzzzzz', '/login', '/register', '/forgot-password', '/reset-password?token=x', '/withdrawal', '/no-such-page']) {
    test(path, async ({ page }) => {
      await audit(page, path);
    });
  }

  test('a product with variants, and a plain one', async ({ page }) => {
    await audit(page, await aProduct(page, 'category=clothing/t-shirts&in_stock=true'));
    await audit(page, await aProduct(page, 'category=books&in_stock=true'));
  });

  test('a cart with a line, and the guest checkout', async ({ page }) => {
    await page.goto(await aProduct(page, 'category=clothing/t-shirts&in_stock=true'));
    await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
    await expect(page.getByText('Added to your cart')).toBeVisible();
    await audit(page, '/cart');
    await audit(page, '/checkout');
    // an order waiting for its bank transfer: the payment details on the order page
    await fillGuestCheckout(page, `axe-${Date.now()}@example.com`, ['Ana Axe', 'Strada Mică 3', '400001', 'Cluj-Napoca', '+40 733 333 333']);
    await page.getByLabel('Bank transfer').check();
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect(page.getByTestId('bank-transfer')).toBeVisible();
    await audit(page, page.url());
  });

  test('an order waiting for its card payment', async ({ page }) => {
    test.skip(!process.env.STRIPE_URL, 'card payments are configured with localstripe only');
    await page.goto(await aProduct(page, 'category=clothing/t-shirts&in_stock=true'));
    await page.locator('body').dispatchEvent('pointermove');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
    await expect(page.getByText('Added to your cart')).toBeVisible();
    await page.goto('/checkout');
    await fillGuestCheckout(page, `axe-card-${Date.now()}@example.com`, ['Ana Axe', 'Strada Mică 3', '400001', 'Cluj-Napoca', '+40 733 333 333']);
    await page.getByRole('radio', { name: /^Card/ }).check();
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect(page.getByTestId('card-payment')).toBeVisible();
    // the card field itself is the provider's (Stripe's iframe; localstripe's bare inputs here)
    await audit(page, page.url(), '.card-element');
  });
});

// Signed in once (sign-ins are rate-limited per account), the session shared by the panel tests.
const ADMIN_STATE = path.join(os.tmpdir(), `vitrina-axe-admin-${process.pid}.json`);

test.describe('accessibility (axe-core): account and panel', () => {
  test.beforeAll(async ({ browser }) => {
    const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
    const page = await context.newPage();
    await page.goto('/login?next=/account');
    await page.getByLabel('E-mail').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/account$/);
    await context.storageState({ path: ADMIN_STATE });
    await context.close();
  });
  test.use({ storageState: ADMIN_STATE });

  for (const path of ['/account', '/account/orders', '/admin', '/admin/products', '/admin/products/new', '/admin/orders', '/admin/users', '/admin/import', '/admin/audit', '/admin/outbox', '/admin/webhooks', '/admin/outbox?tab=mailbox']) {
    test(path, async ({ page }) => {
      await audit(page, path);
    });
  }

  test('an order, with its payment panel', async ({ page }) => {
    await page.goto('/admin/orders');
    const order = await page.locator('a[href*="/admin/orders/o_"]').first().getAttribute('href');
    expect(order, 'an order to open').toBeTruthy();
    await audit(page, order!);
  });

  test('a product editor', async ({ page }) => {
    await page.goto('/admin/products');
    const edit = await page.locator('a[href*="/admin/products/p"]').first().getAttribute('href');
    expect(edit, 'a product to edit').toBeTruthy();
    await audit(page, edit!);
  });
});
