// ECG paper: the standard scale (25 mm/s, 10 mm/mV) in CSS millimetres, the grid, and how beats are drawn on it.
import type uPlot from 'uplot';

/** CSS pixels per millimetre (CSS fixes 96 px per inch). */
export const PxPerMm = 96 / 25.4;
export const MmPerSecond = 25;
export const MmPerMillivolt = 10;
export const PxPerSecond = PxPerMm * MmPerSecond;
export const PxPerMillivolt = PxPerMm * MmPerMillivolt;

/** Height of one lead's strip: 4 mV, i.e. eight large boxes (room for tall R waves and deep S waves). */
export const StripMillivolts = 4;
export const StripHeightPx = Math.round(StripMillivolts * PxPerMillivolt);

export const BeatColours: Record<string, string> = {
  N: '#4b7f52', // normal: a quiet green
  S: '#1f65a8', // supraventricular: blue
  V: '#b3261e', // ventricular: red, the one that matters most
  F: '#b8740d', // fusion: amber
  Q: '#6b7378', // unclassifiable: grey
};

export const BeatNames: Record<string, string> = {
  N: 'normal', S: 'supraventricular ectopic', V: 'ventricular ectopic', F: 'fusion', Q: 'unclassifiable',
};

export interface BeatMark { x: number; cls: string }

/**
 * Keeps the y range a whole number of large boxes (0.5 mV) so the trace sits on the grid: the baseline 1.5 mV above
 * the bottom, where QRS complexes have room to rise.
 */
export function yRangeAround(centreMv: number): [number, number] {
  const c = Math.round(centreMv * 2) / 2;
  return [c - 1.5, c - 1.5 + StripMillivolts];
}

/**
 * The strip's y range for recent samples: the baseline placement of {@link yRangeAround} when the signal's extremes
 * (0.5 % clipped at each end) fit it, otherwise the 4 mV window centred on them, in whole 0.5 mV steps.
 */
export function yRangeFor(values: ArrayLike<number>, from = 0, to = values.length): [number, number] {
  const n = to - from;
  if (n <= 0) return yRangeAround(0);
  const step = Math.max(1, Math.floor(n / 1024));
  const picked: number[] = [];
  for (let i = from; i < to; i += step) picked.push(values[i]);
  picked.sort((a, b) => a - b);
  const lo = picked[Math.floor(picked.length * 0.005)];
  const hi = picked[Math.min(picked.length - 1, Math.ceil(picked.length * 0.995))];
  const around = yRangeAround(picked[picked.length >> 1]);
  if (lo >= around[0] && hi <= around[1]) return around;
  const bottom = Math.floor(((lo + hi) / 2 - StripMillivolts / 2) * 2) / 2;
  return [bottom, bottom + StripMillivolts];
}

/** The median of some samples (the baseline estimate that centres a strip). */
export function median(values: ArrayLike<number>, from = 0, to = values.length): number {
  const n = to - from;
  if (n <= 0) return 0;
  const step = Math.max(1, Math.floor(n / 512)); // a subsample is plenty for a baseline
  const picked: number[] = [];
  for (let i = from; i < to; i += step) picked.push(values[i]);
  picked.sort((a, b) => a - b);
  return picked[picked.length >> 1];
}

/** A uPlot draw hook that paints beat labels along the top of the strip and the 1 mV calibration pulse at its left. */
export function beatLayer(getBeats: () => BeatMark[], options: { calibration: boolean }): (u: uPlot) => void {
  return (u: uPlot) => {
    const ctx = u.ctx;
    const ratio = devicePixelRatio || 1;
    const [xMin, xMax] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0];
    const top = u.bbox.top;
    ctx.save();
    ctx.font = `${Math.round(11 * ratio)}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const beat of getBeats()) {
      if (beat.x < xMin || beat.x > xMax) continue;
      const x = u.valToPos(beat.x, 'x', true);
      const colour = BeatColours[beat.cls] ?? BeatColours.Q;
      ctx.fillStyle = colour;
      ctx.globalAlpha = 0.14;
      ctx.fillRect(x - 0.5 * ratio, top, ratio, u.bbox.height);
      ctx.globalAlpha = 1;
      ctx.fillText(beat.cls, x, top + 3 * ratio);
    }
    if (options.calibration) {
      // The classic 1 mV, 200 ms box: proof of the scale on the page itself.
      const yMin = u.scales.y.min ?? 0;
      const base = u.valToPos(yMin + 0.5, 'y', true);
      const up = u.valToPos(yMin + 1.5, 'y', true);
      const x0 = u.bbox.left + 2 * ratio;
      const w = 0.2 * PxPerSecond * ratio;
      ctx.strokeStyle = '#333';
      ctx.lineWidth = 1.2 * ratio;
      ctx.beginPath();
      ctx.moveTo(x0, base);
      ctx.lineTo(x0 + w * 0.25, base);
      ctx.lineTo(x0 + w * 0.25, up);
      ctx.lineTo(x0 + w * 1.25, up);
      ctx.lineTo(x0 + w * 1.25, base);
      ctx.lineTo(x0 + w * 1.5, base);
      ctx.stroke();
    }
    ctx.restore();
  };
}

/**
 * A uPlot drawClear hook that paints ECG paper in the plot's own data units (1 mm = 40 ms and 0.1 mV, 5 mm = 200 ms
 * and 0.5 mV), so the grid moves with the signal for free and nothing but the one canvas is repainted per frame.
 */
export function paperGrid(u: uPlot): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  const [xMin, xMax, yMin, yMax] = [u.scales.x.min ?? 0, u.scales.x.max ?? 0, u.scales.y.min ?? 0, u.scales.y.max ?? 0];
  ctx.save();
  ctx.fillStyle = '#fffdfd';
  ctx.fillRect(left, top, width, height);
  const lines = (stepX: number, stepY: number, colour: string): void => {
    ctx.beginPath();
    for (let i = Math.ceil(xMin / stepX - 1e-6); i * stepX <= xMax + 1e-9; i++) {
      const x = Math.round(u.valToPos(i * stepX, 'x', true)) + 0.5;
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
    }
    for (let i = Math.ceil(yMin / stepY - 1e-6); i * stepY <= yMax + 1e-9; i++) {
      const y = Math.round(u.valToPos(i * stepY, 'y', true)) + 0.5;
      ctx.moveTo(left, y);
      ctx.lineTo(left + width, y);
    }
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1;
    ctx.stroke();
  };
  lines(1 / MmPerSecond, 1 / MmPerMillivolt, 'rgba(226, 120, 120, 0.16)');
  lines(5 / MmPerSecond, 5 / MmPerMillivolt, 'rgba(205, 80, 80, 0.36)');
  ctx.restore();
}
