// Patients: every twin the token may read, with its live figures; sortable and filterable. Polls the list every 3 s
// (one request for all twins) and each twin's recent alerts every 10 s.
import { apiGet, type PatientSummary, type RangeList, type StoredAction } from '../api';
import { ago, el, eventWord, notice, num, qualityWord, rhythmWord } from '../ui';

type SortKey = 'patient' | 'hr' | 'rhythm' | 'quality' | 'device' | 'alerts';
interface Alerts { count: number; critical: number; latest: string | null }

export function patientsView(host: HTMLElement): () => void {
  let patients: PatientSummary[] = [];
  const alerts = new Map<string, Alerts>();
  let sort: SortKey = 'alerts';
  let descending = true;
  let error: HTMLElement | null = null;
  let loaded = false;

  const filter = el('input', { type: 'search', placeholder: 'Filter by patient, rhythm or device', 'aria-label': 'Filter patients', 'data-testid': 'patient-filter' });
  const alertsOnly = el('input', { type: 'checkbox', id: 'alerts-only' });
  const table = el('table', { class: 'patients', 'data-testid': 'patients-table' });
  const status = el('div', { class: 'muted small' });
  host.replaceChildren(
    el('div', { class: 'page-head' }, el('h1', {}, 'Patients'), el('div', { class: 'filters' }, filter, el('label', { for: 'alerts-only', class: 'check' }, alertsOnly, ' Only with alerts'))),
    table, status);
  filter.addEventListener('input', render);
  alertsOnly.addEventListener('change', render);

  const columns: [SortKey, string][] = [['patient', 'Patient'], ['hr', 'Heart rate'], ['rhythm', 'Rhythm'], ['quality', 'Signal'], ['device', 'Device'], ['alerts', 'Alerts, last hour']];

  function value(p: PatientSummary, key: SortKey): string | number {
    const s = p.state;
    switch (key) {
      case 'patient': return p.patientId;
      case 'hr': return s?.heartRateBpm ?? -1;
      case 'rhythm': return s?.rhythm ?? '';
      case 'quality': return s?.signalQuality ?? -1;
      case 'device': return s?.deviceConnected ? 1 : 0;
      case 'alerts': { const a = alerts.get(p.patientId); return a ? a.critical * 1000 + a.count : 0; }
    }
  }

  function render(): void {
    const words = filter.value.trim().toLowerCase();
    const rows = patients
      .filter((p) => !words || [p.patientId, p.state?.rhythm ?? '', rhythmWord(p.state?.rhythm), ...p.devices].join(' ').toLowerCase().includes(words))
      .filter((p) => !alertsOnly.checked || (alerts.get(p.patientId)?.count ?? 0) > 0)
      .sort((a, b) => {
        const [x, y] = [value(a, sort), value(b, sort)];
        const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
        return (descending ? -c : c) || a.patientId.localeCompare(b.patientId);
      });
    const head = el('tr', {}, ...columns.map(([key, label]) => {
      const th = el('th', { scope: 'col', 'aria-sort': key === sort ? (descending ? 'descending' : 'ascending') : undefined, 'data-sort': key },
        label, key === sort ? (descending ? ' ▾' : ' ▴') : '');
      th.addEventListener('click', () => { descending = key === sort ? !descending : key !== 'patient'; sort = key; render(); });
      return th;
    }));
    const body = rows.map((p) => {
      const s = p.state;
      const q = qualityWord(s?.signalQuality);
      const a = alerts.get(p.patientId);
      const tr = el('tr', { 'data-patient': p.patientId, tabindex: '0' },
        el('td', {}, el('a', { href: `#/twin/${encodeURIComponent(p.patientId)}`, class: 'patient-link' }, p.patientId)),
        el('td', { class: 'hr', 'data-testid': 'row-hr' }, s?.heartRateBpm != null ? el('span', { class: 'big' }, num(s.heartRateBpm)) : '—', s?.heartRateBpm != null ? el('span', { class: 'unit' }, ' bpm') : ''),
        el('td', {}, s?.rhythm === 'AF' ? el('span', { class: 'pill warn' }, 'AF') : rhythmWord(s?.rhythm)),
        el('td', {}, el('span', { class: `dot ${q.cls}` }), ` ${q.word}`),
        el('td', {}, el('span', { class: `dot ${s?.deviceConnected ? 'ok' : 'muted'}` }), s?.deviceConnected ? ' connected' : p.devices.length ? ' not connected' : ' no device',
          el('div', { class: 'muted small' }, p.devices.join(', '))),
        el('td', {}, !a ? '' : a.count === 0 ? el('span', { class: 'muted' }, 'none')
          : el('span', { class: `pill ${a.critical ? 'bad' : 'warn'}`, 'data-testid': 'alert-badge' }, `${a.count} · ${eventWord(a.latest ?? '')}`)));
      tr.addEventListener('click', (e) => { if (!(e.target as HTMLElement).closest('a')) location.hash = `#/twin/${encodeURIComponent(p.patientId)}`; });
      tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') location.hash = `#/twin/${encodeURIComponent(p.patientId)}`; });
      return tr;
    });
    table.replaceChildren(el('thead', {}, head), el('tbody', {}, ...body));
    if (loaded && patients.length === 0) table.append(el('caption', {}, 'No twins yet, or none your token may read.'));
    else if (loaded && body.length === 0) table.append(el('caption', {}, 'No patient matches the filter.'));
    status.textContent = loaded ? `${rows.length} of ${patients.length} twins · updated ${ago(new Date().toISOString())}` : 'Loading…';
  }

  async function refresh(): Promise<void> {
    const r = await apiGet<{ patients: PatientSummary[] }>('api/twins');
    error?.remove();
    error = null;
    if (!r.ok) {
      error = notice(r.title, r.detail);
      host.insertBefore(error, table);
      if (r.status === 401) location.hash = '#/signin';
      return;
    }
    patients = r.data.patients;
    loaded = true;
    render();
  }

  async function refreshAlerts(): Promise<void> {
    const from = new Date(Date.now() - 3600_000).toISOString();
    await Promise.all(patients.map(async (p) => {
      const r = await apiGet<RangeList<StoredAction>>(`api/twins/${encodeURIComponent(p.patientId)}/events?from=${from}&limit=500`);
      if (!r.ok) return;
      // An alert is an event the policy let through as warning or critical.
      const raised = r.data.items.filter((e) => e.decision?.allowed && e.proposal.severity !== 'info');
      alerts.set(p.patientId, {
        count: raised.length,
        critical: raised.filter((e) => e.proposal.severity === 'critical').length,
        latest: raised.length ? raised[raised.length - 1].proposal.eventType : null,
      });
    }));
    render();
  }

  render();
  void refresh().then(refreshAlerts);
  const fast = setInterval(() => void refresh(), 3000);
  const slow = setInterval(() => void refreshAlerts(), 10000);
  return () => { clearInterval(fast); clearInterval(slow); };
}
