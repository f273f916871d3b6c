// The live, scrolling ECG: one uPlot strip per lead at true paper scale, fed from ring buffers.
// Samples arrive in batches over SSE and are only copied into typed arrays; drawing happens in requestAnimationFrame,
// at most 20 times a second and only while the view moves: no DOM work per sample or per batch.
import uPlot from 'uplot';
import type { LeadInfo } from './api';
import { beatLayer, paperGrid, PxPerSecond, StripHeightPx, yRangeFor, type BeatMark } from './paper';

export interface SamplesEvent { deviceId: string; startTime: string; sampleRateHz: number; leads: LeadInfo[]; samples: number[][] }

/** A ring of the last N values, mirrored (each value written twice) so the newest N are always one contiguous view. */
class MirroredRing {
  readonly data: Float64Array;
  private head = 0; // index of the oldest of the newest `count` values
  count = 0;
  constructor(readonly capacity: number) {
    this.data = new Float64Array(capacity * 2);
  }
  push(v: number): void {
    const i = (this.head + this.count) % this.capacity;
    this.data[i] = v;
    this.data[i + this.capacity] = v;
    if (this.count < this.capacity) this.count++;
    else this.head = (this.head + 1) % this.capacity;
  }
  view(): Float64Array {
    return this.data.subarray(this.head, this.head + this.count);
  }
}

const MaxSeconds = 24; // more than the widest screen shows at 25 mm/s
const MaxLagSeconds = 3; // further behind than this and the view jumps to the newest signal
const CatchUpSeconds = 1.5; // further behind than this and the view speeds up a little
// 20 frames a second (4.7 px of paper per frame at 25 mm/s): each frame costs the browser a full compositor frame,
// which with software rendering is most of the cost, so the rate is the lever (see README for the figures).
const FrameIntervalMs = 50;

interface Lead { name: string; plot: uPlot; values: MirroredRing; yRange: [number, number]; placed: boolean; label: HTMLElement }

export class LiveEcg {
  private leads: Lead[] = [];
  private times: MirroredRing | null = null;
  private rate = 0;
  private t0 = 0; // epoch seconds of the first sample: x values are seconds since, which keeps float precision
  private latestX = 0;
  private displayEnd: number | null = null;
  private lastFrame = 0;
  private lastDraw = 0;
  private lastCentre = 0;
  private lastMark = 0;
  private beats: BeatMark[] = [];
  private raf = 0;
  private timer = 0;
  private destroyed = false;
  private resting = false;
  private width = 0;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(private readonly host: HTMLElement) {
    host.classList.add('ecg-live');
    host.append(Object.assign(document.createElement('p'), { className: 'waiting', textContent: 'Waiting for the device’s signal…' }));
    this.resize.observe(host);
    this.width = host.clientWidth;
  }

  /** Copies a batch into the rings (creating the strips when the leads or rate change). */
  push(batch: SamplesEvent): void {
    if (!batch.samples.length || !batch.samples[0].length) return;
    const names = batch.leads.map((l) => l.name);
    if (batch.sampleRateHz !== this.rate || names.join() !== this.leads.map((l) => l.name).join()) this.build(batch.sampleRateHz, names, Date.parse(batch.startTime) / 1000);
    const start = Date.parse(batch.startTime) / 1000 - this.t0;
    const n = batch.samples[0].length;
    // A batch the strip already holds (the stored signal it was filled from, or a redelivery) is not drawn twice.
    if (this.latestX > 0 && start + n / this.rate <= this.latestX + 0.5 / this.rate) return;
    const times = this.times!;
    for (let i = 0; i < n; i++) times.push(start + i / this.rate);
    batch.leads.forEach((info, l) => {
      const ring = this.leads[l].values;
      const src = batch.samples[l];
      const gain = info.gain || 200;
      for (let i = 0; i < n; i++) ring.push((src[i] - info.baseline) / gain);
    });
    this.latestX = Math.max(this.latestX, start + n / this.rate);
    this.wake();
  }

  /** Classified beats from the `beats` event (times in UTC). */
  addBeats(beats: { time: string; class: string }[]): void {
    if (!this.rate) return;
    for (const b of beats) this.beats.push({ x: Date.parse(b.time) / 1000 - this.t0, cls: b.class });
    const oldest = this.latestX - MaxSeconds;
    if (this.beats.length > 400) this.beats = this.beats.filter((b) => b.x >= oldest);
  }

  /**
   * Asks for the next frame no sooner than the frame interval. A requestAnimationFrame loop that merely returned early
   * would still make the browser produce 60 frames a second; this way it produces ~25 while the signal moves, and none
   * once the view has caught up with the newest sample (the next batch wakes it).
   */
  private wake(): void {
    if (this.raf || this.timer) return;
    const wait = Math.max(0, FrameIntervalMs - (performance.now() - this.lastDraw));
    this.timer = window.setTimeout(() => {
      this.timer = 0;
      this.raf = requestAnimationFrame((t) => { this.raf = 0; this.frame(t); });
    }, wait);
  }

  destroy(): void {
    this.destroyed = true;
    cancelAnimationFrame(this.raf);
    clearTimeout(this.timer);
    this.resize.disconnect();
    for (const l of this.leads) l.plot.destroy();
    this.host.replaceChildren();
  }

  private build(rate: number, names: string[], t0: number): void {
    for (const l of this.leads) l.plot.destroy();
    this.host.replaceChildren();
    this.rate = rate;
    this.t0 = t0;
    this.latestX = 0;
    this.displayEnd = null;
    this.beats = [];
    const capacity = Math.ceil(rate * MaxSeconds);
    this.times = new MirroredRing(capacity);
    this.leads = names.map((name) => {
      const strip = document.createElement('div');
      strip.className = 'strip';
      strip.dataset.lead = name;
      const label = document.createElement('span');
      label.className = 'lead-name';
      label.textContent = name;
      strip.append(label);
      this.host.append(strip);
      const lead: Lead = { name, values: new MirroredRing(capacity), yRange: [-1.5, 2.5], placed: false, label, plot: null! };
      lead.plot = new uPlot(stripOptions(this.width, () => this.beats), [[], []], strip);
      return lead;
    });
    const caption = document.createElement('div');
    caption.className = 'scale-caption';
    caption.textContent = `25 mm/s · 10 mm/mV · ${rate} Hz`;
    this.host.append(caption);
  }

  private fit(): void {
    const w = this.host.clientWidth;
    if (w === this.width || w === 0) return;
    this.width = w;
    for (const l of this.leads) l.plot.setSize({ width: w, height: StripHeightPx });
  }

  private frame(now: number): void {
    if (this.destroyed || !this.times) return;
    if (this.resting) {
      // Woken by a batch after catching up: start the clock here (the rest is not elapsed signal time) and draw next frame.
      this.resting = false;
      this.lastFrame = now;
      this.wake();
      return;
    }
    const elapsed = this.lastFrame ? (now - this.lastFrame) / 1000 : 0;
    this.lastFrame = now;
    // The view advances with the wall clock, never past the newest sample; more than 1.5 s behind it runs a little
    // faster to catch up, and more than 3 s behind (a hidden tab, a stalled machine) it jumps.
    const behind = this.displayEnd === null ? 0 : this.latestX - this.displayEnd;
    let end = this.displayEnd === null ? this.latestX : this.displayEnd + Math.min(elapsed, 0.25) * (behind > CatchUpSeconds ? 1.2 : 1);
    if (end > this.latestX) end = this.latestX;
    if (this.latestX - end > MaxLagSeconds) end = this.latestX - 0.5;
    if (end === this.displayEnd) {
      this.resting = true; // caught up with the newest sample: no frames until the next batch wakes us
      return;
    }
    this.displayEnd = end;
    this.lastDraw = now;
    const span = this.width / PxPerSecond;
    const xs = this.times.view();
    const recentre = now - this.lastCentre > 1000;
    if (recentre) this.lastCentre = now;
    for (const lead of this.leads) {
      const ys = lead.values.view();
      if (recentre) {
        // Moves only when the signal leaves the strip or drifts by a large box and more: a calm picture, not a jumpy one.
        const next = yRangeFor(ys, Math.max(0, ys.length - Math.round(this.rate * 4)));
        const [lo, hi] = lead.yRange;
        if (!lead.placed || Math.abs(next[0] - lo) >= 1 || next[1] > hi + 0.25 || next[0] < lo - 0.25) { lead.yRange = next; lead.placed = true; }
      }
      const plot = lead.plot;
      plot.batch(() => {
        plot.setData([xs as unknown as number[], ys as unknown as number[]], false);
        plot.setScale('x', { min: end - span, max: end });
        plot.setScale('y', { min: lead.yRange[0], max: lead.yRange[1] });
      });
    }
    if (now - this.lastMark > 500) {
      this.lastMark = now;
      // For people (a status line) and for tests: the signal time the strip shows up to.
      this.host.dataset.drawnUntil = new Date((this.t0 + end) * 1000).toISOString();
      this.host.dataset.samples = String(xs.length);
    }
    this.wake();
  }
}

function stripOptions(width: number, beats: () => BeatMark[]): uPlot.Options {
  return {
    width,
    height: StripHeightPx,
    padding: [0, 0, 0, 0],
    legend: { show: false },
    cursor: { show: false },
    select: { show: false, left: 0, top: 0, width: 0, height: 0 },
    scales: { x: { time: false, auto: false }, y: { auto: false } },
    axes: [{ show: false }, { show: false }],
    series: [{}, { stroke: '#1d1d1f', width: 1.3, points: { show: false } }],
    hooks: { drawClear: [paperGrid], draw: [beatLayer(beats, { calibration: true })] },
  };
}
