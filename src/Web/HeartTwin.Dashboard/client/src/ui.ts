// Small DOM helpers: the views build their markup with these, and every refusal is shown the same calm way.

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) node.setAttribute(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}

/** A quiet panel saying why something is not shown (403, 404, offline): the page stays usable around it. */
export function notice(title: string, detail: string, testId = 'notice'): HTMLElement {
  return el('div', { class: 'notice', 'data-testid': testId, role: 'status' }, el('strong', {}, title), el('p', {}, detail));
}

export function clock(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.toLocaleDateString([], { month: 'short', day: 'numeric' })} ${clock(iso)}`;
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '—';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 5) return 'just now';
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

export function num(v: number | null | undefined, digits = 0, unit = ''): string {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : `${v.toFixed(digits)}${unit}`;
}

export function qualityWord(q: number | null | undefined): { word: string; cls: string } {
  if (q === null || q === undefined) return { word: '—', cls: 'muted' };
  if (q >= 0.7) return { word: 'good', cls: 'ok' };
  if (q >= 0.4) return { word: 'fair', cls: 'warn' };
  return { word: 'poor', cls: 'bad' };
}

export function rhythmWord(r: string | undefined): string {
  if (r === 'AF') return 'Atrial fibrillation';
  if (r === 'regular') return 'Regular';
  return 'Not yet known';
}

export function eventWord(type: string): string {
  return ({
    'af-onset': 'AF began', 'af-offset': 'AF ended', 'ventricular-run': 'Ventricular run', 'heart-rate-high': 'Heart rate high',
    'heart-rate-low': 'Heart rate low', 'signal-lost': 'Signal lost', 'device-silent': 'Device silent', 'sequence-gap': 'Data gap',
    'manual-request': 'Requested command',
  } as Record<string, string>)[type] ?? type;
}

export function isoUtc(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}
