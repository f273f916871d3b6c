// Heart-rate and HRV trends: two small uPlot charts sharing a clock axis.
import uPlot from 'uplot';
import type { StoredBeat, TwinState } from './api';

export interface TrendPoint { t: number; hr: number | null; rmssd: number | null; sdnn: number | null }

/** Back-fills trends from stored beats with the twin's own definitions: HR over 10 s, HRV over the 5 min of N–N intervals before. */
export function trendFromBeats(beats: StoredBeat[], from: number, to: number): TrendPoint[] {
  const rr = beats.filter((b) => b.rrMs > 0).map((b) => ({ t: Date.parse(b.time) / 1000, rr: b.rrMs, normal: b.class === 'N' }));
  const points: TrendPoint[] = [];
  for (let t = Math.ceil(from / 10) * 10; t <= to; t += 10) {
    const hrWindow = rr.filter((b) => b.t > t - 10 && b.t <= t);
    const nn = rr.filter((b) => b.normal && b.t > t - 300 && b.t <= t).map((b) => b.rr);
    if (!hrWindow.length) continue;
    const hr = 60000 / (hrWindow.reduce((s, b) => s + b.rr, 0) / hrWindow.length);
    let rmssd: number | null = null;
    let sdnn: number | null = null;
    if (nn.length >= 20) {
      let sq = 0;
      for (let i = 1; i < nn.length; i++) sq += (nn[i] - nn[i - 1]) ** 2;
      rmssd = Math.sqrt(sq / (nn.length - 1));
      const mean = nn.reduce((s, v) => s + v, 0) / nn.length;
      sdnn = Math.sqrt(nn.reduce((s, v) => s + (v - mean) ** 2, 0) / (nn.length - 1));
    }
    points.push({ t, hr, rmssd, sdnn });
  }
  return points;
}

export function pointFromState(s: TwinState): TrendPoint | null {
  const t = Date.parse(s.signalTime ?? s.updatedAt) / 1000;
  return Number.isNaN(t) ? null : { t, hr: s.heartRateBpm, rmssd: s.rmssdMs, sdnn: s.sdnnMs };
}

export class Trends {
  private points: TrendPoint[] = [];
  private hrPlot: uPlot;
  private hrvPlot: uPlot;
  private pending = false;

  constructor(host: HTMLElement) {
    const width = Math.max(280, host.clientWidth - 8);
    const hhmm = (_u: uPlot, ticks: number[]): string[] => ticks.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }));
    // At least ten minutes across, so a fresh twin's first points do not fill the chart with seconds.
    const xRange = (_u: uPlot, min: number, max: number): [number, number] => (Number.isFinite(max) ? [Math.min(min, max - 600), max + 20] : [Date.now() / 1000 - 600, Date.now() / 1000]);
    const yFloor = (low: number, high: number) => (_u: uPlot, min: number, max: number): [number, number] =>
      [Number.isFinite(min) ? Math.min(low, Math.floor(min / 10) * 10) : low, Number.isFinite(max) ? Math.max(high, Math.ceil(max / 10) * 10) : high];
    const base = (title: string, unit: string, colours: string[], names: string[], y: [number, number]): uPlot.Options => ({
      title, width, height: 150,
      legend: { show: true, live: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: true, range: xRange }, y: { range: yFloor(y[0], y[1]) } },
      axes: [
        { values: hhmm, stroke: '#666', grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' } },
        { label: unit, stroke: '#666', size: 46, grid: { stroke: '#eee' }, ticks: { stroke: '#ddd' } },
      ],
      // Points show by themselves while there are few (uPlot hides them once they would crowd the line).
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: colours[i], width: 1.6, points: { size: 5 }, spanGaps: true }))],
    });
    const hrBox = document.createElement('div');
    const hrvBox = document.createElement('div');
    host.append(hrBox, hrvBox);
    this.hrPlot = new uPlot(base('Heart rate', 'bpm', ['#b3261e'], ['HR'], [40, 120]), [[], []], hrBox);
    this.hrvPlot = new uPlot(base('Heart-rate variability', 'ms', ['#1f65a8', '#6b7378'], ['RMSSD', 'SDNN'], [0, 100]), [[], [], []], hrvBox);
  }

  add(points: TrendPoint[]): void {
    // Live points come in order; back-filled ones may come after them, so merge by time (one point per time).
    const byTime = new Map(this.points.map((p) => [p.t, p]));
    for (const p of points) byTime.set(p.t, p);
    this.points = [...byTime.values()].sort((a, b) => a.t - b.t);
    if (this.points.length > 2000) this.points = this.points.slice(-1500);
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => { this.pending = false; this.draw(); });
    }
  }

  private draw(): void {
    const t = this.points.map((p) => p.t);
    this.hrPlot.setData([t, this.points.map((p) => p.hr)]);
    this.hrvPlot.setData([t, this.points.map((p) => p.rmssd), this.points.map((p) => p.sdnn)]);
  }

  destroy(): void {
    this.hrPlot.destroy();
    this.hrvPlot.destroy();
  }
}
