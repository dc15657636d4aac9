import { expect, test } from '@playwright/test';

// register → sign out → sign in → account page, through the real forms.
test('a shopper registers, signs out, signs in and sees the account page', async ({ page }) => {
  const email = `shopper-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  const password = 'a long enough passphrase';

  await page.goto('/register');
  await page.getByLabel('Name').fill('Ioana Test');
  await page.getByLabel('E-mail').fill(email);
  // a too-short password is refused, with the message next to the field
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.locator('#f-password-error')).toContainText('at least 10 characters');
  await expect(page.getByLabel('E-mail')).toHaveValue(email);

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId('account-email')).toHaveText(email);
  await expect(page.getByTestId('account-link')).toContainText('Hi, Ioana');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/(en)?$/);
  await expect(page.getByTestId('account-link')).toHaveText('Sign in');

  // the account page now asks to sign in, and returns there afterwards
  await page.goto('/account');
  await expect(page).toHaveURL(/\/login\?next=%2Faccount|\/login\?next=\/account/);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#f-password-error')).toContainText('incorrect');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Hello, Ioana Test');
});
