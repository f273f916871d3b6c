// One twin: live ECG, figures, trends, events (click for the ECG around one), actions with the policy's decisions,
// the device and the model. Live parts come from the twin stream; lists are re-read every 15 s to pick up decisions.
import {
  apiGet, type ActionDecided, type DeviceStatus, type EcgResponse, type PatientSummary, type RangeList, type StoredAction,
  type StoredBeat, type TwinState, type VitalView,
} from '../api';
import { LiveEcg, type SamplesEvent } from '../liveEcg';
import { BeatColours, BeatNames } from '../paper';
import { openStream } from '../sse';
import { drawPaperStrips, toMarks, toSeries } from '../staticEcg';
import { pointFromState, trendFromBeats, Trends } from '../trends';
import { ago, clock, dateTime, el, eventWord, isoUtc, notice, num, qualityWord, rhythmWord } from '../ui';

export function twinView(host: HTMLElement, patientId: string): () => void {
  const enc = encodeURIComponent(patientId);
  const cleanups: (() => void)[] = [];
  let state: TwinState | null = null;
  let events: StoredAction[] = [];
  let actions: StoredAction[] = [];
  let auditByAction = new Map<string, number>();
  let devices: string[] = [];
  let battery: VitalView | null = null;

  const switcher = el('select', { 'aria-label': 'Switch patient', 'data-testid': 'patient-switcher' });
  switcher.addEventListener('change', () => { location.hash = `#/twin/${encodeURIComponent(switcher.value)}`; });
  const streamStatus = el('span', { class: 'stream-status muted', 'data-testid': 'stream-status' }, 'connecting…');
  const figures = el('section', { class: 'figures', 'data-testid': 'figures' });
  const ecg = el('div', { 'data-testid': 'live-ecg' });
  const ecgPanel = el('section', { class: 'panel' }, el('h2', {}, 'Live ECG'), ecg, beatLegend());
  const trendsBox = el('div', { class: 'trends' });
  const device = el('div', { class: 'device', 'data-testid': 'device' });
  const timeline = el('div', { class: 'timeline', 'data-testid': 'timeline' });
  const eventList = el('ol', { class: 'events', 'data-testid': 'events' });
  const snippet = el('div', { class: 'snippet', 'data-testid': 'event-ecg' });
  const actionTable = el('table', { class: 'actions', 'data-testid': 'actions' });

  host.replaceChildren(
    el('div', { class: 'page-head' },
      el('h1', {}, el('span', { class: 'muted' }, 'Patient '), el('span', { 'data-testid': 'twin-patient' }, patientId)),
      el('div', { class: 'filters' }, switcher, streamStatus, el('a', { href: `#/history/${enc}`, class: 'button' }, 'History'))),
    figures, ecgPanel,
    el('div', { class: 'columns' },
      el('section', { class: 'panel' }, el('h2', {}, 'Trends'), trendsBox),
      el('section', { class: 'panel' }, el('h2', {}, 'Device and model'), device)),
    el('section', { class: 'panel' }, el('h2', {}, 'Events, last 24 hours'), timeline, el('div', { class: 'columns events-columns' }, eventList, snippet)),
    el('section', { class: 'panel' }, el('h2', {}, 'Actions and the policy’s decisions'), actionTable));

  const live = new LiveEcg(ecg);
  cleanups.push(() => live.destroy());
  const trends = new Trends(trendsBox);
  cleanups.push(() => trends.destroy());
  snippet.append(el('p', { class: 'muted' }, 'Choose an event to see the ECG around it.'));

  function renderFigures(): void {
    const s = state;
    const q = qualityWord(s?.signalQuality);
    const card = (label: string, value: Node | string, sub: string, testId?: string): HTMLElement =>
      el('div', { class: 'card' }, el('div', { class: 'label' }, label), el('div', { class: 'value', 'data-testid': testId }, value), el('div', { class: 'sub muted' }, sub));
    figures.replaceChildren(
      card('Heart rate', s?.heartRateBpm != null ? num(s.heartRateBpm) : '—', s?.instantHeartRateBpm != null ? `bpm · last beat ${num(s.instantHeartRateBpm)}` : 'bpm', 'hr'),
      card('Rhythm', rhythmWord(s?.rhythm), s ? `AF burden ${num(s.afBurdenPercent, 1)} %` : '', 'rhythm'),
      card('HRV', s?.rmssdMs != null ? `${num(s.rmssdMs)} ms` : '—', s?.sdnnMs != null ? `RMSSD · SDNN ${num(s.sdnnMs)} ms` : 'RMSSD, 5 min', 'hrv'),
      card('Signal quality', el('span', {}, el('span', { class: `dot ${q.cls}` }), ` ${q.word}`), s?.signalQuality != null ? `index ${num(s.signalQuality, 2)}` : '', 'quality'),
      card('Beats', beatCounts(s), s ? `signal at ${clock(s.signalTime)}` : ''));
  }

  function beatCounts(s: TwinState | null): HTMLElement {
    const box = el('span', { class: 'counts' });
    if (!s) { box.textContent = '—'; return box; }
    for (const [cls, n] of Object.entries(s.beatCounts)) if (n > 0) box.append(el('span', { class: 'count', style: `color:${BeatColours[cls] ?? '#555'}`, title: BeatNames[cls] ?? cls }, `${cls} ${n}`));
    return box;
  }

  async function renderDevice(): Promise<void> {
    const id = state?.deviceId ?? devices[0] ?? null;
    let status: DeviceStatus | null = null;
    if (id) {
      // Full device status is an admin route; other readers see what the twin itself reports.
      const r = await apiGet<DeviceStatus>(`api/devices/${encodeURIComponent(id)}`);
      if (r.ok) status = r.data;
    }
    const gapsFromEvents = events.filter((e) => e.proposal.eventType === 'sequence-gap').length;
    const connected = status?.connected ?? state?.deviceConnected ?? false;
    const rows: [string, Node | string][] = [
      ['Device', id ? `${id}${status ? ` (${status.kind})` : ''}` : 'none bound'],
      ['Connection', el('span', { 'data-testid': 'device-connected' }, el('span', { class: `dot ${connected ? 'ok' : 'muted'}` }), connected ? ' connected' : ' not connected')],
      ['Last sequence', String(status?.lastSequence ?? state?.lastSequence ?? '—')],
      ['Last seen', status?.lastSeenAt ? ago(status.lastSeenAt) : state ? ago(state.updatedAt) : '—'],
      ['Gaps', String(status?.gaps ?? gapsFromEvents)],
      ['Battery', status?.batteryPercent != null ? `${num(status.batteryPercent)} %` : battery ? `${num(battery.value)} %` : 'not reported'],
      ['Model', el('code', { 'data-testid': 'model' }, state?.modelId ?? '—')],
      ['Other devices', devices.filter((d) => d !== id).join(', ') || 'none'],
    ];
    device.replaceChildren(el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  }

  function decisionPill(d: ActionDecided | null): HTMLElement {
    if (!d) return el('span', { class: 'pill muted', 'data-decision': 'pending' }, 'awaiting decision');
    return d.allowed
      ? el('span', { class: 'pill ok', 'data-decision': 'allowed' }, 'allowed')
      : el('span', { class: 'pill bad', 'data-decision': 'denied' }, 'denied');
  }

  function renderEvents(): void {
    // The timeline spans from the oldest event (at most 24 h back, at least 1 h) to now, so recent events do not bunch up.
    const now = Date.now() / 1000;
    const oldest = Math.min(...events.map((e) => Date.parse(e.proposal.occurredAt) / 1000), now);
    const from = Math.max(now - 24 * 3600, Math.min(oldest - 60, now - 3600));
    const hhmm = (t: number): string => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
    timeline.replaceChildren(el('div', { class: 'axis' }, el('span', {}, hhmm(from)), el('span', {}, hhmm((from + now) / 2)), el('span', {}, 'now')));
    for (const e of events) {
      const t = Date.parse(e.proposal.occurredAt) / 1000;
      const dot = el('button', {
        class: `tick sev-${e.proposal.severity} ${e.decision && !e.decision.allowed ? 'withheld' : ''}`,
        style: `left:${Math.min(100, Math.max(0, ((t - from) / (now - from)) * 100))}%`,
        title: `${eventWord(e.proposal.eventType)} at ${dateTime(e.proposal.occurredAt)}`, 'aria-label': eventWord(e.proposal.eventType),
      });
      dot.addEventListener('click', () => void showEvent(e));
      timeline.append(dot);
    }
    const newest = [...events].reverse().slice(0, 60);
    eventList.replaceChildren(...(newest.length ? newest.map((e) => {
      const item = el('li', { class: `event sev-${e.proposal.severity}`, 'data-event-type': e.proposal.eventType, tabindex: '0' },
        el('div', { class: 'event-head' }, el('strong', {}, eventWord(e.proposal.eventType)), el('span', { class: 'muted' }, dateTime(e.proposal.occurredAt))),
        el('div', { class: 'small' }, e.proposal.reason),
        el('div', { class: 'small muted' }, `${e.proposal.severity} · `, e.decision ? (e.decision.allowed ? 'alert raised' : `withheld: ${e.decision.reason}`) : 'awaiting decision'));
      item.addEventListener('click', () => void showEvent(e, item));
      item.addEventListener('keydown', (k) => { if (k.key === 'Enter') void showEvent(e, item); });
      return item;
    }) : [el('li', { class: 'muted empty' }, 'No events in the last 24 hours.')]));
  }

  async function showEvent(e: StoredAction, item?: HTMLElement): Promise<void> {
    eventList.querySelectorAll('.selected').forEach((n) => n.classList.remove('selected'));
    item?.classList.add('selected');
    const t = Date.parse(e.proposal.occurredAt) / 1000;
    const [from, to] = [t - 4, t + 4];
    snippet.replaceChildren(el('p', { class: 'muted' }, 'Loading the ECG…'));
    const [ecgR, beatsR] = await Promise.all([
      apiGet<EcgResponse>(`api/twins/${enc}/ecg?from=${isoUtc(from)}&to=${isoUtc(to)}&format=mv`),
      apiGet<RangeList<StoredBeat>>(`api/twins/${enc}/beats?from=${isoUtc(from)}&to=${isoUtc(to)}`),
    ]);
    if (!ecgR.ok) { snippet.replaceChildren(notice(ecgR.title, ecgR.detail)); return; }
    const series = toSeries(ecgR.data.segments);
    const marks = beatsR.ok ? toMarks(beatsR.data.items) : [];
    const strips = el('div', { class: 'strips-scroll' });
    snippet.replaceChildren(
      el('div', { class: 'event-head' }, el('strong', {}, eventWord(e.proposal.eventType)), el('span', { class: 'muted' }, `${dateTime(e.proposal.occurredAt)} · ±4 s · 25 mm/s · 10 mm/mV`)),
      series.length ? strips : el('p', { class: 'muted' }, 'No ECG is stored around this event (the device sent none then).'),
      el('div', { class: 'small muted' }, `${marks.length} beats: `, ...summarise(marks.map((m) => m.cls))));
    if (series.length) drawPaperStrips(strips, series, marks, from, to, t);
  }

  function summarise(classes: string[]): HTMLElement[] {
    const counts = new Map<string, number>();
    for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
    return [...counts].map(([c, n]) => el('span', { class: 'count', style: `color:${BeatColours[c] ?? '#555'}` }, `${c} ${n} `));
  }

  function renderActions(): void {
    const head = el('tr', {}, ...['When', 'Command', 'Asked by', 'Decision', 'Rule and reason', 'Command status'].map((h) => el('th', { scope: 'col' }, h)));
    const rows = [...actions].reverse().slice(0, 50).map((a) => {
      const c = a.proposal.command!;
      const params = Object.entries(c.parameters).map(([k, v]) => `${k}=${v}`).join(', ');
      const audit = auditByAction.get(a.proposal.actionId);
      return el('tr', { 'data-action': a.proposal.actionId },
        el('td', {}, dateTime(a.proposal.proposedAt)),
        el('td', {}, el('strong', {}, c.name), params ? el('div', { class: 'small muted' }, params) : ''),
        el('td', {}, a.proposal.proposedBy, el('div', { class: 'small muted' }, eventWord(a.proposal.eventType))),
        el('td', {}, decisionPill(a.decision)),
        el('td', { class: 'reason' }, a.decision ? el('code', {}, a.decision.rule) : '', a.decision ? ` ${a.decision.reason}` : '',
          audit ? el('div', { class: 'small muted' }, `audit entry #${audit}`) : ''),
        el('td', {}, a.commandStatus ? `${a.commandStatus.status}${a.commandStatus.attempts ? ` (${a.commandStatus.attempts} sent)` : ''}` : a.decision?.allowed === false ? 'not sent' : '—'));
    });
    actionTable.replaceChildren(el('thead', {}, head), el('tbody', {}, ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '6', class: 'muted empty' }, 'No device commands in the last 24 hours.'))])));
  }

  async function loadLists(): Promise<void> {
    const from = new Date(Date.now() - 24 * 3600_000).toISOString();
    const [ev, ac, au, vi] = await Promise.all([
      apiGet<RangeList<StoredAction>>(`api/twins/${enc}/events?from=${from}&limit=1000`),
      apiGet<RangeList<StoredAction>>(`api/twins/${enc}/actions?from=${from}&limit=1000`),
      apiGet<{ decisions: { sequence: number; subject: string }[] }>('api/policy/decisions?limit=1000'),
      apiGet<RangeList<VitalView>>(`api/twins/${enc}/vitals?from=${from}&limit=1000`),
    ]);
    if (ev.ok) { events = mergeStored(ev.data.items, events); renderEvents(); } else eventList.replaceChildren(el('li', {}, notice(ev.title, ev.detail)));
    if (ac.ok) { actions = mergeStored(ac.data.items, actions); } else actionTable.replaceChildren(el('caption', {}, notice(ac.title, ac.detail)));
    // The audit trail is for administrators and system readers; others see the decision without its entry number.
    if (au.ok) auditByAction = new Map(au.data.decisions.map((d) => [d.subject, d.sequence]));
    if (ac.ok) renderActions();
    if (vi.ok) battery = [...vi.data.items].reverse().find((v) => v.code === 'battery') ?? null;
    await renderDevice();
  }

  async function loadTrends(): Promise<void> {
    const to = Date.now() / 1000;
    const from = to - 600;
    const r = await apiGet<RangeList<StoredBeat>>(`api/twins/${enc}/beats?from=${isoUtc(from - 300)}&to=${isoUtc(to)}&limit=20000`);
    if (r.ok) trends.add(trendFromBeats(r.data.items, from, to));
  }

  async function start(): Promise<void> {
    const r = await apiGet<PatientSummary>(`api/twins/${enc}`);
    if (!r.ok) {
      host.replaceChildren(el('div', { class: 'page-head' }, el('h1', {}, `Patient ${patientId}`)),
        notice(r.title, r.detail, 'twin-refused'), el('p', {}, el('a', { href: '#/patients' }, 'Back to the patients')));
      if (r.status === 401) location.hash = '#/signin';
      return;
    }
    state = r.data.state;
    devices = r.data.devices;
    renderFigures();
    if (state) { const p = pointFromState(state); if (p) trends.add([p]); }
    void loadTrends();
    void loadLists();
    void apiGet<{ patients: PatientSummary[] }>('api/twins').then((list) => {
      const ids = list.ok ? list.data.patients.map((p) => p.patientId) : [patientId];
      if (!ids.includes(patientId)) ids.unshift(patientId);
      switcher.replaceChildren(...ids.map((id) => el('option', { value: id, selected: id === patientId ? '' : undefined }, id)));
    });

    // The strip starts full: the last seconds of stored signal first, then the live batches that came meanwhile.
    let waiting: SamplesEvent[] | null = [];
    const fillFromStore = async (): Promise<void> => {
      const to = Date.now() / 1000;
      const from = to - 15;
      const [ecgR, beatsR] = await Promise.all([
        apiGet<{ segments: (SamplesEvent & { samples: number[][] | null })[] }>(`api/twins/${enc}/ecg?from=${isoUtc(from)}&to=${isoUtc(to)}&format=raw`),
        apiGet<RangeList<StoredBeat>>(`api/twins/${enc}/beats?from=${isoUtc(from)}&to=${isoUtc(to)}`),
      ]);
      if (ecgR.ok) for (const seg of ecgR.data.segments) if (seg.samples) live.push(seg);
      for (const batch of waiting ?? []) live.push(batch);
      waiting = null;
      if (beatsR.ok) live.addBeats(beatsR.data.items.filter((b) => b.class).map((b) => ({ time: b.time, class: b.class! })));
    };
    void fillFromStore();

    const stop = openStream(patientId, ['ecg', 'state', 'beats', 'events', 'actions', 'vitals'], {
      onStatus(s, detail) {
        streamStatus.className = `stream-status ${s === 'live' ? 'ok' : s === 'refused' ? 'bad' : 'muted'}`;
        streamStatus.textContent = s === 'live' ? '● live' : s === 'refused' ? `live view refused${detail ? `: ${detail}` : ''}` : s === 'retrying' ? 'reconnecting…' : 'connecting…';
      },
      onEvent(name, data) {
        switch (name) {
          case 'ready': {
            const withheld = Object.keys((data as { withheld: Record<string, string> }).withheld ?? {});
            if (withheld.length) streamStatus.textContent = `● live (the policy withholds ${withheld.join(', ')})`;
            break;
          }
          case 'samples': if (waiting) waiting.push(data as SamplesEvent); else live.push(data as SamplesEvent); break;
          case 'beats': live.addBeats((data as { beats: { time: string; class: string }[] }).beats); break;
          case 'state': {
            state = data as TwinState;
            renderFigures();
            const p = pointFromState(state);
            if (p) trends.add([p]);
            break;
          }
          case 'action': {
            const d = data as ActionDecided;
            const stored: StoredAction = { proposal: d.proposal, decision: d, commandStatus: null };
            events = [...events.filter((e) => e.proposal.actionId !== d.proposal.actionId), stored];
            renderEvents();
            if (d.proposal.command) { actions = [...actions.filter((a) => a.proposal.actionId !== d.proposal.actionId), stored]; renderActions(); }
            break;
          }
          case 'command': void loadLists(); break;
          case 'vitals': {
            const obs = (data as { deviceId: string; observations: { code: string; value: number; unit: string; time: string }[] });
            const b = obs.observations.find((o) => o.code === 'battery');
            if (b) battery = { deviceId: obs.deviceId, ...b };
            break;
          }
        }
      },
    });
    cleanups.push(stop);
    const lists = setInterval(() => void loadLists(), 15000);
    const dev = setInterval(() => void renderDevice(), 5000);
    cleanups.push(() => { clearInterval(lists); clearInterval(dev); });
  }

  void start();
  return () => cleanups.forEach((c) => c());
}

// A list read from storage can be older than what the live stream has shown while the request was out (CI saw a denied
// command drawn as "awaiting decision" again): keep the newer of the two for each action, and the live ones the list lacks.
function mergeStored(stored: StoredAction[], shown: StoredAction[]): StoredAction[] {
  const live = new Map(shown.map((a) => [a.proposal.actionId, a]));
  const merged = stored.map((s) => {
    const l = live.get(s.proposal.actionId);
    return l ? { ...s, decision: s.decision ?? l.decision, commandStatus: s.commandStatus ?? l.commandStatus } : s;
  });
  const listed = new Set(stored.map((s) => s.proposal.actionId));
  return [...merged, ...shown.filter((l) => !listed.has(l.proposal.actionId))];
}

function beatLegend(): HTMLElement {
  return el('div', { class: 'legend small muted' }, 'Beat labels: ',
    ...Object.entries(BeatNames).map(([c, name]) => el('span', { class: 'legend-item' }, el('b', { style: `color:${BeatColours[c]}` }, c), ` ${name}`)));
}
