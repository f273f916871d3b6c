// The twin stream (GET /api/twins/{id}/stream) read with fetch rather than EventSource, so the token travels in the
// Authorization header (not the URL) and a 403 arrives with the server's reason. Reconnects with back-off.
import { apiUrl, getToken } from './api';

export interface StreamHandlers {
  onEvent(name: string, data: unknown): void;
  onStatus(status: 'connecting' | 'live' | 'retrying' | 'refused', detail?: string): void;
}

export function openStream(patientId: string, categories: string[], handlers: StreamHandlers): () => void {
  const controller = new AbortController();
  let delay = 1000;

  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      handlers.onStatus('connecting');
      try {
        const token = getToken();
        const response = await fetch(apiUrl(`api/twins/${encodeURIComponent(patientId)}/stream?categories=${categories.join(',')}`), {
          headers: { Accept: 'text/event-stream', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
          signal: controller.signal,
        });
        if (response.status === 401 || response.status === 403 || response.status === 404) {
          let detail = '';
          try { detail = ((await response.json()) as { detail?: string }).detail ?? ''; } catch { /* no body */ }
          handlers.onStatus('refused', detail);
          return;
        }
        if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
        handlers.onStatus('live');
        delay = 1000;
        await readEvents(response.body, handlers.onEvent);
      } catch (e) {
        if (controller.signal.aborted) return;
        handlers.onStatus('retrying', (e as Error).message);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  };
  void run();
  return () => controller.abort();
}

/** Parses the text/event-stream framing: blocks separated by a blank line, with "event:" and "data:" fields. */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (name: string, data: unknown) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(5).replace(/^ /, '');
      }
      if (data) {
        try { onEvent(name, JSON.parse(data)); } catch { /* a malformed event is skipped, not fatal */ }
      }
    }
  }
}
