// Stored ECG drawn once: around an event (true paper scale, labelled beats) or in the history view (time axis, zoom).
import uPlot from 'uplot';
import type { EcgSegment, StoredBeat } from './api';
import { beatLayer, paperGrid, PxPerSecond, StripHeightPx, yRangeFor, type BeatMark } from './paper';

export interface LeadSeries { name: string; xs: number[]; ys: (number | null)[] }

/** Joins stored segments into one series per lead (x in epoch seconds), with a break (null) wherever samples are missing. */
export function toSeries(segments: EcgSegment[]): LeadSeries[] {
  const leads = new Map<string, LeadSeries>();
  let lastEnd: number | null = null;
  for (const seg of segments) {
    if (!seg.millivolts) continue;
    const start = Date.parse(seg.startTime) / 1000;
    const gap = lastEnd !== null && start - lastEnd > 2 / seg.sampleRateHz;
    seg.leads.forEach((info, l) => {
      let s = leads.get(info.name);
      if (!s) leads.set(info.name, (s = { name: info.name, xs: [], ys: [] }));
      if (gap) { s.xs.push(lastEnd!); s.ys.push(null); }
      const values = seg.millivolts![l];
      for (let i = 0; i < values.length; i++) { s.xs.push(start + i / seg.sampleRateHz); s.ys.push(values[i]); }
    });
    lastEnd = start + (seg.millivolts[0]?.length ?? 0) / seg.sampleRateHz;
  }
  return [...leads.values()];
}

export function toMarks(beats: StoredBeat[]): BeatMark[] {
  return beats.map((b) => ({ x: Date.parse(b.time) / 1000, cls: b.class ?? '?' }));
}

/** Strips at 25 mm/s and 10 mm/mV on ECG paper; wider than the page scrolls sideways. A vertical line marks `focus`. */
export function drawPaperStrips(host: HTMLElement, series: LeadSeries[], marks: BeatMark[], from: number, to: number, focus?: number): uPlot[] {
  host.replaceChildren();
  const width = Math.round((to - from) * PxPerSecond);
  return series.map((s) => {
    const strip = document.createElement('div');
    strip.className = 'strip';
    strip.style.width = `${width}px`;
    const label = document.createElement('span');
    label.className = 'lead-name';
    label.textContent = s.name;
    strip.append(label);
    host.append(strip);
    const [yMin, yMax] = yRangeFor(s.ys.filter((v): v is number => v !== null));
    const focusLayer = (u: uPlot): void => {
      if (focus === undefined) return;
      const x = u.valToPos(focus, 'x', true);
      u.ctx.save();
      u.ctx.strokeStyle = 'rgba(179, 38, 30, 0.55)';
      u.ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
      u.ctx.lineWidth = devicePixelRatio;
      u.ctx.beginPath();
      u.ctx.moveTo(x, u.bbox.top);
      u.ctx.lineTo(x, u.bbox.top + u.bbox.height);
      u.ctx.stroke();
      u.ctx.restore();
    };
    return new uPlot({
      width, height: StripHeightPx, padding: [0, 0, 0, 0],
      legend: { show: false }, cursor: { show: false }, select: { show: false, left: 0, top: 0, width: 0, height: 0 },
      scales: { x: { time: false, range: () => [from, to] }, y: { range: () => [yMin, yMax] } },
      axes: [{ show: false }, { show: false }],
      series: [{}, { stroke: '#1d1d1f', width: 1.3, points: { show: false } }],
      hooks: { drawClear: [paperGrid], draw: [beatLayer(() => marks, { calibration: true }), focusLayer] },
    }, [s.xs, s.ys], strip);
  });
}

/** History: one chart per lead with a clock axis; drag to zoom in, double-click to zoom out. Charts share the x range. */
export function drawHistory(host: HTMLElement, series: LeadSeries[], marks: BeatMark[], from: number, to: number): uPlot[] {
  host.replaceChildren();
  const width = host.clientWidth || 900;
  const plots: uPlot[] = [];
  const sync = uPlot.sync('history');
  for (const s of series) {
    const box = document.createElement('div');
    box.className = 'history-lead';
    const label = document.createElement('div');
    label.className = 'history-label';
    label.textContent = s.name;
    box.append(label);
    host.append(box);
    const [yMin, yMax] = spread(s.ys);
    plots.push(new uPlot({
      width, height: 190,
      legend: { show: false },
      cursor: { sync: { key: sync.key }, drag: { x: true, y: false }, points: { show: false } },
      scales: { x: { time: true, min: from, max: to }, y: { range: () => [yMin, yMax] } },
      axes: [
        { stroke: '#555', grid: { stroke: '#f0d7d7', width: 1 }, ticks: { stroke: '#ddd' } },
        { label: 'mV', stroke: '#555', size: 44, grid: { stroke: '#f0d7d7', width: 1 }, ticks: { stroke: '#ddd' } },
      ],
      series: [{}, { stroke: '#1d1d1f', width: 1.1, points: { show: false }, spanGaps: false }],
      hooks: {
        draw: [beatLayer(() => marks, { calibration: false })],
        setScale: [(u, key) => {
          if (key !== 'x') return;
          for (const p of plots) if (p !== u && (p.scales.x.min !== u.scales.x.min || p.scales.x.max !== u.scales.x.max)) p.setScale('x', { min: u.scales.x.min!, max: u.scales.x.max! });
        }],
      },
    }, [s.xs, s.ys], box));
  }
  return plots;
}

/** The range that holds nearly every sample (0.1 % clipped at each end, against spikes), widened to whole 0.5 mV steps. */
function spread(ys: (number | null)[]): [number, number] {
  const v = ys.filter((y): y is number => y !== null).sort((a, b) => a - b);
  if (!v.length) return [-1, 1];
  const lo = v[Math.floor(v.length * 0.001)];
  const hi = v[Math.min(v.length - 1, Math.ceil(v.length * 0.999))];
  return [Math.floor(lo * 2) / 2 - 0.5, Math.ceil(hi * 2) / 2 + 0.5];
}
