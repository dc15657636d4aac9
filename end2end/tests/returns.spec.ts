import { expect, test } from '@playwright/test';
import { cheapJeansInCart, fillGuestCheckout } from './forms';

// After the sale, with JavaScript off: an order's page has its documents and
// says when products may be returned; the withdrawal form names the seller
// and answers the same whether or not the order exists.
test.describe('documents, returns and withdrawal without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test("a guest's order page lists its documents and says when returns open", async ({ page }) => {
    await cheapJeansInCart(page);
    await page.goto('/checkout');
    await fillGuestCheckout(page, `docs-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`, ['Dana Docs', 'Bulevardul Unirii 4', '030167', 'București', '+40 744 444 444']);
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect(page.getByText('Thank you! Your order is placed.')).toBeVisible();

    const documents = page.getByTestId('documents');
    await expect(documents.getByRole('heading', { name: 'Documents' })).toBeVisible();
    // cash on delivery: the invoice comes when the order ships
    await expect(page.getByTestId('documents-empty')).toContainText('Your invoice appears here');
    await expect(page.getByTestId('returns-window')).toContainText('once the order ships');
    await expect(page.getByTestId('return-form')).toHaveCount(0);
    await expect(page.locator('address')).toContainText('Sector 1');
  });

  test('the withdrawal form names the seller and checks its fields', async ({ page }) => {
    await page.goto('/withdrawal');
    await expect(page.getByRole('heading', { level: 1, name: 'Withdrawal form' })).toBeVisible();
    // the seller the footer names is the one the model form is addressed to
    const seller = (await page.getByTestId('footer-seller').locator('strong').textContent())!.trim();
    expect(seller.length).toBeGreaterThan(0);
    await expect(page.getByTestId('withdrawal-seller')).toContainText(seller);

    await page.getByLabel('Order number').fill('no number');
    await page.getByLabel("The order's e-mail").fill('nobody@example.com');
    await page.getByRole('button', { name: 'Send the withdrawal' }).click();
    await expect(page.locator('#f-number-error')).toBeVisible();
    await expect(page.getByLabel("The order's e-mail")).toHaveValue('nobody@example.com');

    await page.getByLabel('Order number').fill('VT-999999');
    await page.getByRole('button', { name: 'Send the withdrawal' }).click();
    await expect(page.getByTestId('withdrawal-sent')).toContainText('If an order VT-999999 was placed with this e-mail');
  });

  test('every page links the withdrawal form and ANPC', async ({ page }) => {
    await page.goto('/products');
    await expect(page.getByTestId('footer-withdrawal')).toHaveAttribute('href', /\/withdrawal$/);
    await expect(page.getByRole('link', { name: /ANPC/ })).toHaveAttribute('href', /^https:\/\//);
  });
});
