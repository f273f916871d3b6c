// Policy: the descriptor in force (read-only) and the latest audited decisions, filterable by kind.
import { apiGet } from '../api';
import { clock, el, notice } from '../ui';

interface PolicyView { version: string; file: string; loadedAt: string; yaml: string }
interface Decision { sequence: number; time: string; category: string; actor: string; patientId: string; subject: string; allowed: boolean; rule: string; reason: string }

const Kinds: [string, string, (d: Decision) => boolean][] = [
  ['all', 'All decisions', () => true],
  ['actions', 'Actions and commands', (d) => d.category !== 'share'],
  ['shares', 'Shares', (d) => d.category === 'share'],
  ['denied', 'Denied only', (d) => !d.allowed],
];

export function policyView(host: HTMLElement): () => void {
  let latest: Decision[] = [];
  const descriptor = el('div', { 'data-testid': 'policy-descriptor' }, el('p', { class: 'muted' }, 'Loading…'));
  const kind = el('select', { 'aria-label': 'Which decisions', 'data-testid': 'decision-filter' }, ...Kinds.map(([v, label]) => el('option', { value: v }, label)));
  const decisions = el('div', { 'data-testid': 'policy-decisions', class: 'decisions-scroll' }, el('p', { class: 'muted' }, 'Loading…'));
  kind.addEventListener('change', render);
  host.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, 'Policy')),
    el('div', { class: 'columns policy-columns' },
      el('section', { class: 'panel' }, el('h2', {}, 'Descriptor in force (read-only)'), descriptor),
      el('section', { class: 'panel' }, el('div', { class: 'page-head' }, el('h2', {}, 'Latest decisions'), kind), decisions)));

  function render(): void {
    const keep = Kinds.find(([v]) => v === kind.value)![2];
    const rows = latest.filter(keep).map((x) => el('tr', {},
      el('td', { class: 'muted' }, `#${x.sequence}`),
      el('td', {}, clock(x.time)),
      el('td', {}, x.category === 'share' ? `share ${x.subject}` : x.category),
      el('td', {}, x.actor, x.patientId !== '*' ? el('span', { class: 'muted' }, ` · ${x.patientId}`) : ''),
      el('td', {}, el('span', { class: `pill ${x.allowed ? 'ok' : 'bad'}` }, x.allowed ? 'allowed' : 'denied')),
      el('td', { class: 'reason' }, el('code', {}, x.rule), el('div', { class: 'small muted' }, x.reason))));
    decisions.replaceChildren(rows.length
      ? el('table', { class: 'decisions' }, el('thead', {}, el('tr', {}, ...['Entry', 'Time', 'What', 'Who · patient', 'Decision', 'Rule and reason'].map((h) => el('th', {}, h)))), el('tbody', {}, ...rows))
      : el('p', { class: 'muted' }, 'No decisions of this kind among the latest 200.'));
  }

  async function load(): Promise<void> {
    const [p, d] = await Promise.all([apiGet<PolicyView>('api/policy'), apiGet<{ decisions: Decision[] }>('api/policy/decisions?limit=200')]);
    descriptor.replaceChildren(...(p.ok
      ? [el('p', { class: 'small muted' }, `${p.data.file} · version ${p.data.version.slice(0, 12)} · loaded ${clock(p.data.loadedAt)}`), el('pre', { class: 'yaml' }, p.data.yaml)]
      : [notice(p.title, p.detail)]));
    kind.hidden = !d.ok;
    if (!d.ok) { decisions.replaceChildren(notice(d.title, d.detail, 'decisions-refused')); return; }
    latest = d.data.decisions;
    render();
  }

  void load();
  const timer = setInterval(() => void load(), 10000);
  return () => clearInterval(timer);
}
