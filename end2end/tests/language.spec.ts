import { expect, test } from '@playwright/test';

// Romanian first, English beside it: the language comes from the address,
// a browser's first visit follows its Accept-Language, the header switches.

test.describe('a Romanian browser', () => {
  test.use({ locale: 'ro-RO' });

  test('sees the shop in Romanian with prices in lei, and switches to English and back', async ({ page }) => {
    await page.goto('/products?category=clothing');
    await expect(page.locator('html')).toHaveAttribute('lang', 'ro');
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(page.locator('.card-price').first()).toHaveText(/^(de la )?\d{1,3}(\.\d{3})*,\d{2} lei$/);
    await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

    await page.getByRole('link', { name: 'English' }).click();
    await expect(page).toHaveURL(/\/en\/products\?category=clothing$/);
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await expect(page.locator('.card-price').first()).toHaveText(/^(from )?RON \d{1,3}(,\d{3})*\.\d{2}$/);
    await expect(page.getByLabel('Sort by')).toBeVisible();

    await page.getByRole('link', { name: 'Română' }).click();
    await expect(page).toHaveURL(/\/products\?category=clothing$/);
    await expect(page.locator('html')).toHaveAttribute('lang', 'ro');
    await expect(page.getByLabel('Ordonează după')).toBeVisible();
  });
});

test.describe('an English browser', () => {
  test.use({ locale: 'en-GB' });

  test('is sent to English on its first visit, and stays in Romanian once it chose so', async ({ page }) => {
    await page.goto('/');
    await expect(page).toHaveURL(/\/en$/);
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await page.getByRole('link', { name: 'Română' }).click();
    await expect(page.locator('html')).toHaveAttribute('lang', 'ro');
    await page.goto('/products');
    await expect(page).toHaveURL(/\/products$/);
    await expect(page.locator('html')).toHaveAttribute('lang', 'ro');
  });
});
