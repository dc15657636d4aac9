import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';

// axe-core (WCAG 2.2 A and AA rules) on every storefront and panel page, with
// JavaScript: no serious or critical violation anywhere.

const ADMIN_EMAIL = process.env.ADMIN_EMAIL || 'admin@e2e.test';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || 'e2e admin passphrase';

async function audit(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n  ')}`).join('\n');
  expect(bad, `${path}\n${report}`).toEqual([]);
}

async function aProduct(page: Page, query: string): Promise<string> {
  await page.goto(`/products?${query}`);
  const href = await page.locator('ul.product-grid a.product-card').first().getAttribute('href');
  expect(href).toBeTruthy();
  return href!;
}

test.describe('accessibility (axe-core)', () => {
  test('storefront pages', async ({ page }) => {
    const product = await aProduct(page, 'category=clothing/t-shirts&in_stock=true');
    const plain = await aProduct(page, 'category=books&in_stock=true');
    for (const path of ['/', '/products', '/c/clothing', '/products?q=jeans&attr.size=M', '/products?q=zzzzzz', product, plain, '/login', '/register', '/no-such-page']) {
      await audit(page, path);
    }
    // a cart with a line, and the guest checkout
    await page.goto(product);
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await expect(page.getByText('Added to your cart')).toBeVisible();
    await audit(page, '/cart');
    await audit(page, '/checkout');
  });

  test('account and panel pages', async ({ page }) => {
    await page.goto('/login?next=/account');
    await page.getByLabel('E-mail').fill(ADMIN_EMAIL);
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/account$/);
    for (const path of ['/account', '/account/orders', '/admin', '/admin/products', '/admin/products/new', '/admin/orders', '/admin/users', '/admin/import', '/admin/audit']) {
      await audit(page, path);
    }
    await page.goto('/admin/products');
    const edit = await page.locator('a[href^="/admin/products/p"]').first().getAttribute('href');
    expect(edit, 'a product to edit').toBeTruthy();
    await audit(page, edit!);
  });
});
