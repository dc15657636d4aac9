import type { Page } from '@playwright/test';

// A guest's contact and address on the checkout form: name, street, postal code, city, phone.
export async function fillGuestCheckout(page: Page, email: string, [name, street, postal, city, phone]: string[]) {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Full name').fill(name);
  await page.getByLabel('Street and number').fill(street);
  await page.getByLabel('Postal code').fill(postal);
  await page.getByLabel('City').fill(city);
  await page.getByLabel('Phone (for the courier)').fill(phone);
}
