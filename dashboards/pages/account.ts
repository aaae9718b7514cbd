/** The login page, and one's own account (the password change). */
import { html, type SafeHtml } from '../html.js';
import type { Lang, Translate } from '../i18n.js';
import { bare, formError, page, type Shell } from './layout.js';

export interface LoginView {
  siteName: string;
  /** Where to go once logged in (a same-origin path, already checked). */
  next: string;
}

export function loginPage(ctx: { t: Translate; lang: Lang }, l: LoginView): SafeHtml {
  const { t } = ctx;
  return bare(ctx, {
    title: t('login_title'),
    siteName: l.siteName,
    body: html`<section class="card login">
  <h1>${t('login_title')}</h1>
  <form data-api="/api/session" data-method="POST" data-then="${l.next}" id="login-form">
    <label>${t('username')}<input name="username" autocomplete="username" required maxlength="32" autofocus></label>
    <label>${t('password')}<input name="password" type="password" autocomplete="current-password" required maxlength="256"></label>
    ${formError}
    <button type="submit" class="primary">${t('login_button')}</button>
  </form>
  <p class="hint">${t('login_hint')}</p>
  <p class="hint"><a href="/activate" id="activate-link">${t('activate_link')}</a></p>
</section>`,
  });
}

export interface ActivateView {
  siteName: string;
  minPasswordLength: number;
}

/**
 * First login, or after a password reset: the user types the two halves they were handed (one by
 * the applicant, one by the approver) and chooses their password.
 */
export function activatePage(ctx: { t: Translate; lang: Lang }, a: ActivateView): SafeHtml {
  const { t } = ctx;
  return bare(ctx, {
    title: t('activate_title'),
    siteName: a.siteName,
    body: html`<section class="card login">
  <h1>${t('activate_title')}</h1>
  <p class="hint">${t('activate_intro')}</p>
  <form data-api="/api/activate" data-method="POST" data-then="/login" data-done="${t('activated')}" id="activate-form">
    <label>${t('username')}<input name="username" autocomplete="username" required maxlength="32" autofocus></label>
    <label>${t('applicant_half')}<input name="applicantHalf" required maxlength="64" autocomplete="off" spellcheck="false" placeholder="XXXXX-XXXXX-XXXXX-XXXXX"></label>
    <label>${t('approver_half')}<input name="approverHalf" required maxlength="64" autocomplete="off" spellcheck="false" placeholder="XXXXX-XXXXX-XXXXX-XXXXX"></label>
    <label>${t('new_password')} <small>${t('new_password_hint', { min: a.minPasswordLength })}</small>
      <input name="password" type="password" autocomplete="new-password" required minlength="${a.minPasswordLength}"></label>
    <label>${t('new_password_again')}<input name="confirm" type="password" autocomplete="new-password" required minlength="${a.minPasswordLength}"></label>
    ${formError}
    <button type="submit" class="primary">${t('activate_button')}</button>
  </form>
  <p class="hint"><a href="/login">${t('login_title')}</a></p>
</section>`,
  });
}

export interface AccountView {
  /** The shortest new password accepted. */
  minPasswordLength: number;
}

export function accountPage(v: Shell, a: AccountView): SafeHtml {
  const { t, user } = v;
  return page(v, {
    title: t('account_title'),
    active: 'account',
    body: html`<h1>${t('account_title')}</h1>
${user.mustChangePassword ? html`<p class="notice warn" id="must-change">${t('must_change_password')}</p>` : ''}
<section class="card">
  <dl class="facts">
    <dt>${t('username')}</dt><dd>${user.username}</dd>
    <dt>${t('display_name')}</dt><dd>${user.displayName}</dd>
    <dt>${t('role')}</dt><dd>${t(`role_${user.role}`)}</dd>
  </dl>
</section>
${
  v.via === 'session'
    ? html`<section class="card">
  <h2>${t('change_password')}</h2>
  <form data-api="/api/me/password" data-method="POST" data-then="/" data-done="${t('password_changed')}" id="password-form">
    <label>${t('current_password')}<input name="current" type="password" autocomplete="current-password" required></label>
    <label>${t('new_password')} <small>${t('new_password_hint', { min: a.minPasswordLength })}</small>
      <input name="next" type="password" autocomplete="new-password" required minlength="${a.minPasswordLength}"></label>
    ${formError}
    <button type="submit" class="primary">${t('change_password')}</button>
  </form>
</section>`
    : ''
}`,
  });
}
