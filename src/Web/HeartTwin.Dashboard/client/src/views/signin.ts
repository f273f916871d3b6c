// Sign-in: a bearer token (the admin token the host printed, or one from POST /api/tokens), kept in sessionStorage.
import { apiGet, setToken } from '../api';
import { el, notice } from '../ui';

export function signinView(host: HTMLElement, onSignedIn: () => void): () => void {
  const input = el('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: 'Paste your bearer token', 'data-testid': 'token-input' });
  const button = el('button', { type: 'submit', 'data-testid': 'signin-button' }, 'Sign in');
  const message = el('div', {});
  const form = el('form', { class: 'signin panel' },
    el('h1', {}, 'Sign in'),
    el('p', { class: 'muted' }, 'Use the admin token the twin printed at start, or a token issued with POST /api/tokens. It is kept only in this tab.'),
    el('label', { for: 'token' }, 'Bearer token'), input, button, message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    setToken(token);
    const r = await apiGet<unknown>('api/twins');
    if (!r.ok && r.status === 401) {
      setToken(null);
      message.replaceChildren(notice('This token was not accepted', r.detail));
      return;
    }
    onSignedIn();
  });
  host.replaceChildren(form);
  input.focus();
  return () => {};
}
