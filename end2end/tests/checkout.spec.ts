import { expect, test } from '@playwright/test';

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
