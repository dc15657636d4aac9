import { expect, type Page } from '@playwright/test';

// The cheapest pair of jeans in stock, in the cart.
export async function cheapJeansInCart(page: Page) {
  await page.goto('/products?category=clothing/jeans&in_stock=true&sort=price_asc');
  await page.locator('ul.product-grid a.product-card').first().click();
  await page.getByRole('button', { name: 'Add to cart', exact: true }).click();
  await expect(page.getByText('Added to your cart')).toBeVisible();
}

// A guest's contact and address on the checkout form: name, street, postal code, city, phone.
export async function fillGuestCheckout(page: Page, email: string, [name, street, postal, city, phone]: string[]) {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Full name').fill(name);
  await page.getByLabel('Street and number').fill(street);
  await page.getByLabel('Postal code').fill(postal);
  await page.getByLabel('City').fill(city);
  await page.getByLabel('Phone (for the courier)').fill(phone);
}
