// The twin's REST API (docs/api.md) seen from the browser: the bearer token lives in sessionStorage, so it is gone when
// the tab closes and never reaches a URL or a cookie.

const TokenKey = 'hearttwin.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TokenKey);
}

export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TokenKey, token);
  else sessionStorage.removeItem(TokenKey);
}

/** An API answer: the body when it worked, otherwise the status and the server's own explanation. */
export type ApiResult<T> = { ok: true; data: T } | { ok: false; status: number; title: string; detail: string };

/** Relative to the page, so the same build works behind a gateway prefix. */
export function apiUrl(path: string): string {
  return new URL(path.replace(/^\//, ''), document.baseURI).toString();
}

export async function apiGet<T>(path: string, signal?: AbortSignal): Promise<ApiResult<T>> {
  const token = getToken();
  let response: Response;
  try {
    response = await fetch(apiUrl(path), {
      headers: token ? { Authorization: `Bearer ${token}`, Accept: 'application/json' } : { Accept: 'application/json' },
      signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    return { ok: false, status: 0, title: 'The twin cannot be reached', detail: 'Check that the host is running; the page retries by itself.' };
  }
  if (response.ok) return { ok: true, data: (await response.json()) as T };
  return { ok: false, status: response.status, ...(await explain(response)) };
}

async function explain(response: Response): Promise<{ title: string; detail: string }> {
  const fallback = {
    401: ['Not signed in', 'Your token is missing, invalid or expired. Sign in again.'],
    403: ['Not available to you', 'Your token or the policy does not allow this view.'],
    404: ['Not found', 'The twin does not know this.'],
  } as Record<number, [string, string]>;
  const [title, detail] = fallback[response.status] ?? [`The twin answered ${response.status}`, response.statusText];
  try {
    const problem = (await response.json()) as { title?: string; detail?: string };
    // A bare status title ("Unauthorized") says less than our own words; the server's detail says more.
    return { title, detail: problem.detail || detail };
  } catch {
    return { title, detail };
  }
}

/** What the page can tell about the token without the server: the subject and scopes of a signed token (display only). */
export function describeToken(token: string | null): { subject: string; scopes: string[]; patients: string[] } | null {
  if (!token) return null;
  const parts = token.split('.');
  if (parts.length !== 3) return { subject: 'administrator', scopes: ['admin'], patients: [] };
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(json) as Record<string, unknown>;
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(' ') : []);
    return { subject: String(claims.sub ?? 'unknown'), scopes: list(claims.scope ?? claims.scp), patients: list(claims.patient ?? claims.patients) };
  } catch {
    return { subject: 'unknown', scopes: [], patients: [] };
  }
}

// The shapes the dashboard reads (camelCase, as Sharing serialises them).
export interface LeadInfo { name: string; gain: number; baseline: number; units: string }
export interface TwinState {
  patientId: string; updatedAt: string; signalTime: string | null; heartRateBpm: number | null; instantHeartRateBpm: number | null;
  sdnnMs: number | null; rmssdMs: number | null; pnn50Percent: number | null; rhythm: string; beatCounts: Record<string, number>;
  afBurdenPercent: number; signalQuality: number | null; modelId: string | null; deviceId: string | null; deviceConnected: boolean;
  lastSequence: number | null;
}
export interface PatientSummary { patientId: string; devices: string[]; state: TwinState | null }
export interface DeviceCommand { name: string; parameters: Record<string, string> }
export interface ActionProposed {
  actionId: string; patientId: string; deviceId: string | null; eventType: string; severity: string; reason: string;
  occurredAt: string; proposedAt: string; proposedBy: string; command: DeviceCommand | null; details: Record<string, string>;
}
export interface ActionDecided { proposal: ActionProposed; allowed: boolean; rule: string; reason: string; decidedAt: string; policyVersion: string }
export interface CommandStatus { commandId: string; status: string; attempts: number; updatedAt: string; detail: string | null }
export interface StoredAction { proposal: ActionProposed; decision: ActionDecided | null; commandStatus: CommandStatus | null }
export interface StoredBeat { deviceId: string; time: string; rrMs: number; class: string | null; confidence: number | null; modelId: string | null }
export interface RangeList<T> { patientId: string; from: string; to: string; items: T[] }
export interface EcgSegment { deviceId: string; sequence: number; startTime: string; sampleRateHz: number; leads: LeadInfo[]; millivolts: number[][] | null }
export interface EcgResponse { segments: EcgSegment[] }
export interface VitalView { deviceId: string; code: string; value: number; unit: string; time: string }
export interface DeviceStatus {
  deviceId: string; kind: string; connected: boolean; lastSequence: number | null; lastSeenAt: string | null; gaps: number;
  batteryPercent: number | null; pendingCommands: number;
}
