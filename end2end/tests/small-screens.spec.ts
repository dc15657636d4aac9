import { expect, test, type Page } from '@playwright/test';

// The storefront on phones: nothing runs off the side of the page, the
// category bar scrolls on its own, and everything tappable is at least 24 px.

async function firstProductPath(page: Page): Promise<string> {
  await page.goto('/products');
  const href = await page.locator('.product-grid a.product-card').first().getAttribute('href');
  expect(href, 'a product link on the listing').toBeTruthy();
  return href!;
}

test.describe('small screens', () => {
  test('no storefront page scrolls sideways at 320 px', async ({ page }) => {
    await page.setViewportSize({ width: 320, height: 640 });
    const product = await firstProductPath(page);
    const fits = async (path: string) => {
      await page.goto(path);
      await expect(page.locator('main.page')).toBeVisible();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, `${path} is wider than the screen by ${overflow}px`).toBeLessThanOrEqual(0);
    };
    for (const path of ['/', '/products', '/c/clothing', product, '/cart', '/login', '/register', '/withdrawal', '/no-such-page']) {
      await fits(path);
    }
    // with a line in the cart: the cart and the checkout (its country list has long names)
    await page.goto(product);
    await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
    await expect(page.getByText('Added to your cart')).toBeVisible();
    await fits('/cart');
    await fits('/checkout');
  });

  test('the category bar scrolls within itself at 375 px and its links are tappable', async ({ page }) => {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto('/');
    const nav = page.locator('nav.category-nav');
    await expect(nav).toBeVisible();
    const { scrollable, overflowX } = await nav.evaluate((el) => ({
      scrollable: el.scrollWidth > el.clientWidth,
      overflowX: getComputedStyle(el).overflowX,
    }));
    expect(scrollable, 'more categories than fit: the bar itself scrolls').toBe(true);
    expect(overflowX).toBe('auto');
    const links = nav.locator('a');
    const n = await links.count();
    expect(n).toBeGreaterThan(3);
    for (let i = 0; i < n; i++) {
      const box = await links.nth(i).boundingBox();
      expect(box, 'a laid-out link').not.toBeNull();
      expect(box!.height, `category link ${i} is at least 24 px tall`).toBeGreaterThanOrEqual(24);
      expect(box!.width, `category link ${i} is at least 24 px wide`).toBeGreaterThanOrEqual(24);
    }
    // the last category is reachable by scrolling the bar, not the page
    await links.nth(n - 1).scrollIntoViewIfNeeded();
    await expect(links.nth(n - 1)).toBeInViewport();
    expect(await page.evaluate(() => window.scrollX)).toBe(0);
  });
});
