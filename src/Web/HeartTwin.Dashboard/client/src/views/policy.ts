// Policy: the descriptor in force (read-only) and the latest audited decisions.
import { apiGet } from '../api';
import { dateTime, el, notice } from '../ui';

interface PolicyView { version: string; file: string; loadedAt: string; yaml: string }
interface Decision { sequence: number; time: string; category: string; actor: string; patientId: string; subject: string; allowed: boolean; rule: string; reason: string }

export function policyView(host: HTMLElement): () => void {
  const descriptor = el('div', { 'data-testid': 'policy-descriptor' }, el('p', { class: 'muted' }, 'Loading…'));
  const decisions = el('div', { 'data-testid': 'policy-decisions' }, el('p', { class: 'muted' }, 'Loading…'));
  host.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, 'Policy')),
    el('div', { class: 'columns policy-columns' },
      el('section', { class: 'panel' }, el('h2', {}, 'Descriptor in force'), descriptor),
      el('section', { class: 'panel' }, el('h2', {}, 'Latest decisions'), decisions)));

  async function load(): Promise<void> {
    const [p, d] = await Promise.all([apiGet<PolicyView>('api/policy'), apiGet<{ decisions: Decision[] }>('api/policy/decisions?limit=100')]);
    descriptor.replaceChildren(...(p.ok
      ? [el('p', { class: 'small muted' }, `${p.data.file} · version ${p.data.version.slice(0, 12)} · loaded ${dateTime(p.data.loadedAt)}`), el('pre', { class: 'yaml' }, p.data.yaml)]
      : [notice(p.title, p.detail)]));
    if (!d.ok) { decisions.replaceChildren(notice(d.title, d.detail, 'decisions-refused')); return; }
    const rows = d.data.decisions.map((x) => el('tr', {},
      el('td', {}, `#${x.sequence}`, el('div', { class: 'small muted' }, dateTime(x.time))),
      el('td', {}, x.category, el('div', { class: 'small muted' }, x.subject.length > 24 ? `${x.subject.slice(0, 12)}…` : x.subject)),
      el('td', {}, x.actor, el('div', { class: 'small muted' }, x.patientId)),
      el('td', {}, el('span', { class: `pill ${x.allowed ? 'ok' : 'bad'}` }, x.allowed ? 'allowed' : 'denied')),
      el('td', { class: 'reason' }, el('code', {}, x.rule), ` ${x.reason}`)));
    decisions.replaceChildren(rows.length
      ? el('table', { class: 'decisions' }, el('thead', {}, el('tr', {}, ...['Entry', 'What', 'Who · patient', 'Decision', 'Rule and reason'].map((h) => el('th', {}, h)))), el('tbody', {}, ...rows))
      : el('p', { class: 'muted' }, 'No decisions yet.'));
  }

  void load();
  const timer = setInterval(() => void load(), 10000);
  return () => clearInterval(timer);
}
