import { expect, type Page } from '@playwright/test';

// The cheapest pair of jeans in stock, in the cart.
export async function cheapJeansInCart(page: Page) {
  await page.goto('/products?category=clothing/jeans&in_stock=true&sort=price_asc');
  await page.locator('ul.product-grid a.product-card').first().click();
  await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
  await expect(page.getByText('Added to your cart')).toBeVisible();
}

// A Romanian address's county (the list shows the counties' Romanian names)
// and, in Bucharest, its sector (1–6).
export async function chooseCounty(page: Page, county: string, sector?: number) {
  await page.getByLabel('County').selectOption({ label: county });
  if (sector !== undefined) await page.getByLabel('Sector').selectOption(String(sector));
}

// The county (and sector) of the cities the journeys ship to.
const countyOf: Record<string, [string, number?]> = {
  'București': ['București', 1],
  'Cluj-Napoca': ['Cluj'],
  'Timișoara': ['Timiș'],
};

// A guest's contact and address on the checkout form: name, street, postal code, city, phone;
// the county follows the city unless given.
export async function fillGuestCheckout(page: Page, email: string, [name, street, postal, city, phone]: string[], county: [string, number?] = countyOf[city] ?? ['Cluj']) {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Full name').fill(name);
  await page.getByLabel('Street and number').fill(street);
  await page.getByLabel('Postal code').fill(postal);
  await page.getByLabel('City').fill(city);
  await chooseCounty(page, county[0], county[1]);
  await page.getByLabel('Phone (for the courier)').fill(phone);
}
