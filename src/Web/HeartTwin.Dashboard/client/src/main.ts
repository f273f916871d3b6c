// The dashboard's shell: a hash router (so the host needs no fallback route) and the signed-in user in the header.
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { describeToken, getToken, setToken } from './api';
import { el } from './ui';
import { historyView } from './views/history';
import { patientsView } from './views/patients';
import { policyView } from './views/policy';
import { signinView } from './views/signin';
import { twinView } from './views/twin';

const view = document.getElementById('view')!;
const who = document.getElementById('who')!;
let leave: () => void = () => {};

function renderWho(): void {
  const t = describeToken(getToken());
  if (!t) { who.replaceChildren(); return; }
  const out = el('button', { type: 'button', class: 'link', 'data-testid': 'signout' }, 'Sign out');
  out.addEventListener('click', () => { setToken(null); location.hash = '#/signin'; });
  const scope = t.scopes.includes('admin') ? 'administrator' : t.patients.length ? `patients ${t.patients.join(', ')}` : t.scopes.join(' ');
  who.replaceChildren(el('span', { 'data-testid': 'who' }, t.subject), el('span', { class: 'muted' }, ` · ${scope} · `), out);
}

function route(): void {
  leave();
  const [, page = 'patients', arg] = location.hash.replace(/^#/, '').split('/');
  const id = arg ? decodeURIComponent(arg) : undefined;
  if (!getToken() && page !== 'signin') { location.hash = '#/signin'; return; }
  document.querySelectorAll<HTMLAnchorElement>('[data-nav]').forEach((a) => a.classList.toggle('active', a.dataset.nav === (page === 'twin' ? 'patients' : page)));
  renderWho();
  view.dataset.view = page;
  switch (page) {
    case 'signin': leave = signinView(view, () => { location.hash = '#/patients'; }); break;
    case 'twin': leave = id ? twinView(view, id) : patientsView(view); break;
    case 'history': leave = historyView(view, id); break;
    case 'policy': leave = policyView(view); break;
    default: leave = patientsView(view);
  }
  document.title = `HeartTwin · ${page === 'twin' && id ? id : page}`;
}

window.addEventListener('hashchange', route);
route();
