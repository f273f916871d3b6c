// History: the stored ECG of any period with its beats. Pick a start and a span, step earlier or later by a span,
// drag on a chart to zoom in, double-click to zoom back out.
import { apiGet, type EcgResponse, type PatientSummary, type RangeList, type StoredBeat } from '../api';
import { drawHistory, toMarks, toSeries } from '../staticEcg';
import { el, isoUtc, notice } from '../ui';
import type uPlot from 'uplot';

const Spans: [number, string][] = [[10, '10 s'], [30, '30 s'], [60, '1 min'], [300, '5 min'], [900, '15 min']];

export function historyView(host: HTMLElement, patientId: string | undefined): () => void {
  let plots: uPlot[] = [];
  const patient = el('select', { 'aria-label': 'Patient', 'data-testid': 'history-patient' });
  const start = el('input', { type: 'datetime-local', step: '1', 'aria-label': 'Start (local time)' });
  const span = el('select', { 'aria-label': 'Span' }, ...Spans.map(([s, label]) => el('option', { value: String(s), selected: s === 60 ? '' : undefined }, label)));
  const earlier = el('button', { type: 'button' }, '◀ Earlier');
  const later = el('button', { type: 'button' }, 'Later ▶');
  const latest = el('button', { type: 'button' }, 'Latest');
  const charts = el('div', { class: 'history', 'data-testid': 'history-charts' });
  const info = el('div', { class: 'small muted', 'data-testid': 'history-info' });
  host.replaceChildren(
    el('div', { class: 'page-head' }, el('h1', {}, 'History'), el('div', { class: 'filters' }, patient, start, span, earlier, later, latest)),
    el('section', { class: 'panel' }, info, charts,
      el('p', { class: 'small muted' }, 'Drag across a chart to zoom in; double-click to zoom out. Beats are labelled N, S, V, F, Q by the model’s class.')));

  const toLocalInput = (epoch: number): string => {
    const d = new Date(epoch * 1000);
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  };
  const fromInput = (): number => new Date(start.value).getTime() / 1000;

  async function load(): Promise<void> {
    if (!patient.value) return;
    const from = fromInput();
    const to = from + Number(span.value);
    if (Number.isNaN(from)) { info.textContent = 'Choose a start time.'; return; }
    info.textContent = 'Loading…';
    const enc = encodeURIComponent(patient.value);
    const [ecg, beats] = await Promise.all([
      apiGet<EcgResponse>(`api/twins/${enc}/ecg?from=${isoUtc(from)}&to=${isoUtc(to)}&format=mv`),
      apiGet<RangeList<StoredBeat>>(`api/twins/${enc}/beats?from=${isoUtc(from)}&to=${isoUtc(to)}&limit=20000`),
    ]);
    plots.forEach((p) => p.destroy());
    plots = [];
    if (!ecg.ok) { charts.replaceChildren(notice(ecg.title, ecg.detail)); info.textContent = ''; return; }
    const series = toSeries(ecg.data.segments);
    const marks = beats.ok ? toMarks(beats.data.items) : [];
    if (!series.length) { charts.replaceChildren(el('p', { class: 'muted empty' }, 'No ECG is stored in this period.')); info.textContent = ''; return; }
    info.textContent = `${new Date(from * 1000).toLocaleString()} – ${new Date(to * 1000).toLocaleTimeString()} · ${marks.length} beats`;
    plots = drawHistory(charts, series, marks, from, to);
  }

  async function toLatest(): Promise<void> {
    if (!patient.value) return;
    const r = await apiGet<PatientSummary>(`api/twins/${encodeURIComponent(patient.value)}`);
    const end = r.ok && r.data.state?.signalTime ? Date.parse(r.data.state.signalTime) / 1000 : Date.now() / 1000;
    start.value = toLocalInput(Math.floor(end - Number(span.value)));
    await load();
  }

  const shift = (sign: number): void => { start.value = toLocalInput(fromInput() + sign * Number(span.value)); void load(); };
  earlier.addEventListener('click', () => shift(-1));
  later.addEventListener('click', () => shift(1));
  latest.addEventListener('click', () => void toLatest());
  start.addEventListener('change', () => void load());
  span.addEventListener('change', () => void load());
  patient.addEventListener('change', () => { location.hash = `#/history/${encodeURIComponent(patient.value)}`; });

  void (async () => {
    const list = await apiGet<{ patients: PatientSummary[] }>('api/twins');
    if (!list.ok) { charts.replaceChildren(notice(list.title, list.detail)); return; }
    const ids = list.data.patients.map((p) => p.patientId);
    if (!ids.length) { charts.replaceChildren(el('p', { class: 'muted empty' }, 'No twins your token may read.')); return; }
    const chosen = patientId ?? ids[0];
    if (!ids.includes(chosen)) ids.unshift(chosen);
    patient.replaceChildren(...ids.map((id) => el('option', { value: id, selected: id === chosen ? '' : undefined }, id)));
    await toLatest();
  })();
  return () => plots.forEach((p) => p.destroy());
}
