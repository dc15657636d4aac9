import { expect, test, type Locator, type Page } from '@playwright/test';

// the journeys run in English (the browser asks for it): paths carry /en, compared without it
function bare(url: URL): string {
  return url.pathname.replace(/^\/en(?=\/|$)/, '') || '/';
}

// Journeys through the catalog of a server seeded with the demo catalog
// (`vitrina seed`): clothing with size x color variants, shoes, electronics,
// books. No sleeps: every wait is one of Playwright's auto-waiting assertions.

/** Digits of a text such as "(1,234)" or "1234 products", as a number. */
function digits(text: string | null): number {
  const d = (text ?? '').replace(/\D/g, '');
  return d === '' ? NaN : Number(d);
}

/** The bare total the listing reports in `.result-count[data-total]`. */
async function resultTotal(page: Page): Promise<number> {
  const rc = page.locator('.result-count').first();
  await expect(rc).toHaveAttribute('data-total', /^\d+$/);
  return Number(await rc.getAttribute('data-total'));
}

async function clickEnabledOption(picker: Locator, axis: string): Promise<string> {
  const option = picker.locator(`a.option[data-axis="${axis}"]:not(.unavailable)`).first();
  await expect(option, `an available ${axis} option`).toBeVisible();
  const value = await option.getAttribute('data-value');
  expect(value, `${axis} option has data-value`).toBeTruthy();
  await option.click();
  // Re-find by value: the picker may re-render after the click.
  const clicked = picker.locator(`a.option[data-axis="${axis}"][data-value="${cssString(value!)}"]`);
  await expect(clicked).toHaveClass(/(^|\s)selected(\s|$)/);
  return value!;
}

/** Escapes a value for use inside a double-quoted CSS attribute selector. */
function cssString(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

test.describe('with JavaScript (hydrated)', () => {
  test('search-as-you-type: suggestions by keyboard, typos forgiven', async ({ page }) => {
    await page.goto('/');
    await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    const box = page.locator('#search-q');
    // a category and products for a prefix
    await box.pressSequentially('lapt');
    const list = page.getByRole('listbox', { name: 'Suggestions' });
    await expect(list).toBeVisible();
    await expect(box).toHaveAttribute('aria-expanded', 'true');
    const laptops = list.getByRole('option').filter({ hasText: 'Laptops' });
    await expect(laptops).toBeVisible();
    // arrows move the active option; Enter opens it
    await box.press('ArrowDown');
    await expect(list.getByRole('option').first()).toHaveAttribute('aria-selected', 'true');
    await expect(box).toHaveAttribute('aria-activedescendant', 'suggestion-0');
    await box.press('Enter');
    await page.waitForURL((url) => bare(url) === '/c/electronics/laptops');
    // a new page: it hydrates on the first interaction, before the next search
    await page.locator('body').dispatchEvent('pointermove');
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
    // a typo still finds products; Escape closes the list
    await box.fill('');
    await box.pressSequentially('laptpo');
    await expect(list.getByRole('option').first()).toBeVisible();
    await box.press('Escape');
    await expect(list).toBeHidden();
  });

  test('search → facet → product → variant, hydrated', async ({ page }) => {
    await page.goto('/');
    await page.locator('body').dispatchEvent('pointermove'); // the storefront hydrates on the first interaction
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');

    // Search from the header.
    const search = page.locator('form[role=search] input[name=q]').first();
    await search.fill('shirt');
    await search.press('Enter');
    await expect(page).toHaveURL(
      (url) => bare(url).startsWith('/products') && url.searchParams.get('q') === 'shirt',
    );
    const searchTotal = await resultTotal(page);
    expect(searchTotal).toBeGreaterThan(0);
    await expect(page.locator('.result-count').first()).toContainText(/\d/);

    // First color facet: its value and the count its label shows.
    const colorLabel = page
      .locator('aside.facets label')
      .filter({ has: page.locator('input[type=checkbox][name="attr.color"]') })
      .first();
    const colorBox = colorLabel.locator('input[type=checkbox][name="attr.color"]');
    await expect(colorBox).toBeVisible();
    await expect(colorBox).not.toBeChecked();
    const color = await colorBox.getAttribute('value');
    expect(color, 'color facet checkbox has a value').toBeTruthy();
    const facetCount = digits(await colorLabel.locator('span.count').first().textContent());
    expect(facetCount).toBeGreaterThan(0);
    expect(facetCount).toBeLessThanOrEqual(searchTotal);

    // With JS the facet form submits itself on change (its Apply button is hidden).
    await expect(page.locator('#filters button[type=submit]').first()).toBeHidden();
    await colorBox.click();
    await expect(page).toHaveURL(
      (url) =>
        bare(url).startsWith('/products') &&
        url.searchParams.get('q') === 'shirt' &&
        url.searchParams.getAll('attr.color').includes(color!),
    );
    // The facet count promised exactly this many results.
    await expect(page.locator('.result-count').first()).toHaveAttribute('data-total', String(facetCount));
    await expect(
      page.locator(`aside.facets input[type=checkbox][name="attr.color"][value="${cssString(color!)}"]`),
    ).toBeChecked();

    const cards = page.locator('ul.product-grid a.product-card');
    await expect(cards.first()).toBeVisible();
    const shown = await cards.count();
    expect(shown).toBeGreaterThanOrEqual(1);
    expect(shown).toBeLessThanOrEqual(facetCount);

    // Product page.
    await cards.first().click();
    await expect(page).toHaveURL(/\/p\//);
    await expect(page.locator('h1.product-title')).toBeVisible();

    // Variant picker: a size, then (if the product has one) a color.
    const picker = page.locator('nav.variant-picker');
    await expect(picker).toBeVisible();
    const size = await clickEnabledOption(picker, 'size');
    if ((await picker.locator('a.option[data-axis="color"]:not(.unavailable)').count()) > 0) {
      await clickEnabledOption(picker, 'color');
      // Picking an available color keeps the chosen size.
      await expect(
        picker.locator(`a.option[data-axis="size"][data-value="${cssString(size)}"]`),
      ).toHaveClass(/(^|\s)selected(\s|$)/);
    }
    await expect(page.getByTestId('selected-sku')).toHaveText(/\S/);
    await expect(page.locator('.availability').first()).toBeVisible();
  });
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('pages render without JavaScript', async ({ page }) => {
    const listing = await page.goto('/products?category=clothing&sort=price_asc&page=2');
    expect(listing?.status()).toBe(200);

    const cards = page.locator('ul.product-grid a.product-card');
    expect(await cards.count()).toBeGreaterThan(0);
    await expect(page.locator('.result-count').first()).toBeVisible();
    expect(await page.locator('aside.facets input[type=checkbox]').count()).toBeGreaterThan(0);

    // Pagination: on page 2, and every link keeps the filters and the sort.
    const pagination = page.locator('nav.pagination');
    await expect(pagination.locator('[aria-current="page"]')).toHaveText('2');
    const hrefs = await pagination
      .locator('a[href]')
      .evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    expect(hrefs.length, 'pagination has links').toBeGreaterThan(0);
    for (const href of hrefs) {
      const url = new URL(href, page.url());
      expect(bare(url), href).toBe('/products');
      expect(url.searchParams.get('category'), href).toBe('clothing');
      expect(url.searchParams.get('sort'), href).toBe('price_asc');
    }

    // A product page, server-rendered.
    const href = await cards.first().getAttribute('href');
    expect(href).toMatch(/\/p\//);
    const product = await page.goto(href!);
    expect(product?.status()).toBe(200);
    await expect(page.locator('h1.product-title')).toBeVisible();
    await expect(page.locator('.price').first()).toBeVisible();
    await expect(page.locator('table.attributes').first()).toBeVisible();
    await expect(page.locator('nav.variant-picker, .availability').first()).toBeVisible();

    // An unknown product is a real 404, with a page a shopper can read.
    const missing = await page.goto('/p/this-does-not-exist');
    expect(missing?.status()).toBe(404);
    await expect(page.getByText(/not found/i).first()).toBeVisible();
  });

  test('recommendations render and add to the cart without JavaScript', async ({ page, request }) => {
    // a laptop that shoppers bought something with (the demo seed's order history)
    const laptops = await (await request.get('/api/v1/products?category=electronics/laptops&per_page=20')).json();
    let slug = '';
    for (const item of laptops.items) {
      const recs = await (await request.get(`/api/v1/products/${item.slug}/recommendations?intent=complementary`)).json();
      if (recs.strategy === 'complementary' && recs.items.some((i: { in_stock: boolean }) => i.in_stock)) {
        slug = item.slug;
        break;
      }
    }
    expect(slug, 'a laptop with "bought together" suggestions').not.toBe('');
    await page.goto(`/p/${slug}`);
    const together = page.locator('section.bought-together');
    await expect(together.getByRole('heading', { name: 'Frequently bought together' })).toBeVisible();
    const bundle = await together.locator('a.product-card').evaluateAll((cards) => cards.map((a) => a.getAttribute('href') ?? ''));
    expect(bundle.length).toBeGreaterThan(0);
    const similar = page.locator('section.similar');
    await expect(similar.getByRole('heading', { name: 'Similar products' })).toBeVisible();
    expect(await similar.locator('a.product-card').count()).toBeGreaterThan(0);
    for (const href of [...bundle, ...(await similar.locator('a.product-card').evaluateAll((cards) => cards.map((a) => a.getAttribute('href') ?? '')))]) {
      expect(bare(new URL(href, page.url())), 'never the product itself').not.toBe(`/p/${slug}`);
    }
    // one button puts every shown item in the cart; the cart then suggests other things
    await together.getByRole('button', { name: /^Add/ }).click();
    await expect(page).toHaveURL((url) => bare(url) === '/cart');
    const lines = await page.locator('li.cart-line a.cart-name').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
    expect(lines.map((h) => bare(new URL(h, page.url()))).sort()).toEqual(bundle.map((h) => bare(new URL(h, page.url()))).sort());
    const suggestions = page.locator('section.cart-recs');
    await expect(suggestions.getByRole('heading', { name: 'You may also like' })).toBeVisible();
    for (const href of await suggestions.locator('a.product-card').evaluateAll((cards) => cards.map((a) => a.getAttribute('href') ?? ''))) {
      expect(lines, 'nothing already in the cart').not.toContain(href);
    }
  });

  test('facet form applies filters without JavaScript', async ({ page }) => {
    await page.goto('/products?category=clothing&sort=price_asc');
    const before = await resultTotal(page);
    expect(before).toBeGreaterThan(0);

    const form = page.locator('form#filters');
    const box = form.locator('input[type=checkbox][name="attr.color"]').first();
    const color = await box.getAttribute('value');
    expect(color).toBeTruthy();
    await box.check();
    // Without JS nothing submits on change: the form needs a submit button.
    await form.locator('button[type=submit], input[type=submit]').first().click();

    await expect(page).toHaveURL(
      (url) =>
        bare(url) === '/products' &&
        url.searchParams.get('category') === 'clothing' &&
        url.searchParams.get('sort') === 'price_asc' &&
        url.searchParams.getAll('attr.color').includes(color!),
    );
    const after = await resultTotal(page);
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(before);
  });
});
