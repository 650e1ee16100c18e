import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, allowed, type Check } from './api.ts';

/** The API's own words for a refusal: its detail, and the code for those who search the docs. */
export function ProblemBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error instanceof ApiError ? error : undefined;
  return (
    <div class="banner error" role="alert">
      <strong>{e ? `${e.status} ${e.problem.title ?? ''}` : 'Something went wrong'}</strong>
      <span>{e ? (e.problem.detail ?? e.message) : String((error as Error)?.message ?? error)}</span>
      {e?.code ? <code>{e.code}</code> : null}
    </div>
  );
}

export function Banner({ kind, children }: { kind: 'ok' | 'info' | 'warn'; children: ComponentChildren }) {
  return (
    <div class={`banner ${kind}`} role="status">
      {children}
    </div>
  );
}

const BADGE: Record<string, string> = {
  ACTIVE: 'ok',
  ISSUED: 'ok',
  AVAILABLE: 'ok',
  PENDING_CERTIFICATE: 'warn',
  DISABLED: 'muted',
  EXPIRED: 'muted',
  DELETED: 'bad',
  REVOKED: 'bad',
  UNAVAILABLE: 'bad',
};

/** A status as a coloured badge; `tone` picks the colour of another status (an audit outcome). */
export const Badge = ({ status, tone }: { status: string; tone?: string }) => <span class={`badge ${BADGE[tone ?? status] ?? 'muted'}`}>{status.replace(/_/g, ' ')}</span>;

/** A labelled control; `error` is shown under it and tied to it for screen readers. */
export function Field({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error?: string; children: ComponentChildren }) {
  return (
    <div class={`field${error ? ' invalid' : ''}`}>
      <label for={id}>{label}</label>
      {children}
      {hint ? (
        <small id={`${id}-hint`} class="hint">
          {hint}
        </small>
      ) : null}
      {error ? (
        <small id={`${id}-error`} class="field-error" role="alert">
          {error}
        </small>
      ) : null}
    </div>
  );
}

export const describedBy = (id: string, hint?: string, error?: string) => [hint ? `${id}-hint` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;

/** Loads once per key; `reload` loads again. */
export function useLoad<T>(load: () => Promise<T>, key: unknown[]): { data?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...key, n]);
  return { ...state, reload: () => setN((x) => x + 1) };
}

/** What the principal may do, by POST /v1/authorize: undefined until known (nothing is offered before). */
export function useAllowed(checks: Check[]): boolean[] | undefined {
  const key = JSON.stringify(checks);
  const [result, setResult] = useState<boolean[]>();
  useEffect(() => {
    let live = true;
    setResult(undefined);
    allowed(checks).then(
      (r) => live && setResult(r),
      () => live && setResult(checks.map(() => false)),
    );
    return () => {
      live = false;
    };
  }, [key]);
  return result;
}

export const when = (iso?: string) => (iso ? new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '—');

export const subjectText = (s: { commonName: string; organization?: string }) => (s.organization ? `${s.commonName} (${s.organization})` : s.commonName);

/** Copies text to the clipboard, and says so. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      onClick={async () => {
        await navigator.clipboard?.writeText(text).catch(() => undefined);
        setDone(true);
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/** A download of text made in the page (a Blob URL: nothing leaves for anywhere). */
export function DownloadButton({ text, filename, label, type = 'application/x-pem-file' }: { text: string | Uint8Array; filename: string; label: string; type?: string }) {
  return (
    <button
      type="button"
      onClick={() => {
        const url = URL.createObjectURL(new Blob([text as BlobPart], { type }));
        const a = document.createElement('a');
        a.href = url;
        a.download = filename;
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
      }}
    >
      {label}
    </button>
  );
}

/** Cursor paging (the API's nextCursor): the cursor of the page shown, and the way back. */
export function useCursor(): { cursor: string | null; reset: () => void; pager: (nextCursor: string | null | undefined) => preact.JSX.Element } {
  const [cursor, setCursor] = useState<string | null>(null);
  const [history, setHistory] = useState<(string | null)[]>([]);
  return {
    cursor,
    reset: () => {
      setCursor(null);
      setHistory([]);
    },
    pager: (nextCursor) => (
      <div class="pager">
        <button type="button" disabled={history.length === 0} onClick={() => (setCursor(history.at(-1) ?? null), setHistory(history.slice(0, -1)))}>
          Previous
        </button>
        <button type="button" disabled={!nextCursor} onClick={() => (setHistory([...history, cursor]), setCursor(nextCursor ?? null))}>
          Next
        </button>
      </div>
    ),
  };
}

/**
 * A form's submit: runs `action`, busy meanwhile; what it throws is kept as `error` (an ApiError's
 * problem is shown by the form). `submit` is the form's onSubmit.
 */
export function useSubmit(action: () => Promise<unknown>): { busy: boolean; error: unknown; submit: (e: Event) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return {
    busy,
    error,
    submit: (e: Event) => {
      e.preventDefault();
      setBusy(true);
      setError(undefined);
      action()
        .catch((err: unknown) => setError(err))
        .finally(() => setBusy(false));
    },
  };
}

/**
 * A page's actions (disable, delete, publish…): `act` runs one and then `after` (the page reloads
 * what changed); `banners` shows the outcome, what was done or the API's refusal; `fail` shows an
 * error of the page's own.
 */
export function useActions(after: () => void): { act: (what: () => Promise<unknown>, done: string) => Promise<void>; fail: (e: unknown) => void; banners: preact.JSX.Element } {
  const [error, setError] = useState<unknown>();
  const [message, setMessage] = useState<string>();
  return {
    act: async (what, done) => {
      setError(undefined);
      setMessage(undefined);
      try {
        await what();
        setMessage(done);
        after();
      } catch (e) {
        setError(e);
      }
    },
    fail: setError,
    banners: (
      <>
        {message ? <Banner kind="ok">{message}</Banner> : null}
        <ProblemBanner error={error} />
      </>
    ),
  };
}

/**
 * A table in its scrolling frame (narrow screens scroll it, not the page), with a caption for
 * screen readers and one header row; a column given as null is left out (one only some may use).
 */
export function Table({ caption, columns, children }: { caption: string; columns: ComponentChildren[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns
              .filter((c) => c !== null)
              .map((c, i) => (
                <th key={i} scope="col">
                  {c}
                </th>
              ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
