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

// "Forgot password?" end to end: the mail arrives over real SMTP (maildev), its
// link sets a new password once, and the old password stops working.
test('a shopper who forgot the password resets it with the mailed link', async ({ page, request }) => {
  const maildev = process.env.MAILDEV_URL;
  test.skip(!maildev, 'MAILDEV_URL is not set (scripts/test.sh starts maildev)');
  const email = `forgot-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
  await page.goto('/register');
  await page.getByLabel('Name').fill('Radu Uituc');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill('the first long passphrase');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/account$/);
  await page.getByRole('button', { name: 'Sign out' }).click();

  await page.goto('/login');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByLabel('E-mail').fill(email);
  await page.getByRole('button', { name: 'Send me a link' }).click();
  await expect(page.locator('.auth-card .notice')).toContainText('If an account uses this address');

  let link = '';
  await expect
    .poll(async () => {
      const mails = await (await request.get(`${maildev}/api/email`)).json();
      const mail = mails.find((m: any) => m.to.some((t: any) => t.address === email) && /password/i.test(m.subject));
      link = mail ? (mail.text.match(/https?:\/\/\S+reset-password\?token=\S+/) || [''])[0] : '';
      return link;
    }, { timeout: 15_000 })
    .not.toBe('');

  await page.goto(link);
  await page.getByLabel('New password').fill('short');
  await page.getByRole('button', { name: 'Save the new password' }).click();
  await expect(page.locator('#f-password-error')).toContainText('at least 10 characters');
  await page.getByLabel('New password').fill('the second long passphrase');
  await page.getByRole('button', { name: 'Save the new password' }).click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.locator('.auth-card .notice')).toContainText('Your password is changed');

  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill('the first long passphrase');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('#f-password-error')).toContainText('incorrect');
  await page.getByLabel('Password').fill('the second long passphrase');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/account$/);

  // the link worked once
  await page.goto(link);
  await expect(page.locator('.auth-card .alert')).toContainText('invalid, already used or expired');
});

// GDPR, JavaScript off: a shopper downloads their data, then deletes the
// account (a wrong password is said next to the field); they are signed out,
// cannot sign in again, and the address is free for a new account.
test.describe('your data without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a shopper downloads their data and deletes the account', async ({ page, request }) => {
    const email = `gdpr-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
    const password = 'a long enough passphrase';
    const reg = await request.post('/api/v1/auth/register', { data: { email, password, name: 'Maria Șterge' } });
    expect(reg.status()).toBe(201);
    await page.goto('/login?next=/account');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/account$/);

    const section = page.getByTestId('your-data');
    const [download] = await Promise.all([page.waitForEvent('download'), section.getByRole('link', { name: 'Download my data' }).click()]);
    const data = JSON.parse(require('fs').readFileSync(await download.path(), 'utf8'));
    expect(data.profile.email).toBe(email);
    expect(data.orders).toEqual([]);

    await section.locator('summary', { hasText: 'Delete my account' }).click();
    await page.getByLabel('Your password, to confirm').fill('not my password');
    await page.getByRole('button', { name: 'Delete my account for good' }).click();
    await expect(page.locator('#f-erase_password-error')).toHaveText('that is not your password');
    // the form stays open after a refusal
    await page.getByLabel('Your password, to confirm').fill(password);
    await page.getByRole('button', { name: 'Delete my account for good' }).click();
    await expect(page.getByText('Your account is deleted. Your personal data is gone.')).toBeVisible();

    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.locator('#f-password-error')).toContainText('incorrect');
    const again = await request.post('/api/v1/auth/register', { data: { email, password, name: 'Maria Again' } });
    expect(again.status()).toBe(201);
  });
});
