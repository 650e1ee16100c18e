import { createHash } from 'node:crypto';
import type { Handle, PKCS11 } from 'pkcs11js';
import { CaError } from '../../src/domain/ca-error.ts';

type Pkcs11js = typeof import('pkcs11js');

export interface TokenOptions {
  modulePath: string;
  /** The token is found by label or by serial number, never by slot position (slots move). */
  tokenLabel?: string;
  tokenSerial?: string;
  /** Called for every login, so that a corrected PIN file is picked up without a restart. Never logged. */
  readPin: () => Promise<string>;
  /** Sessions kept open against the token; concurrent operations beyond this wait their turn. */
  maxSessions?: number;
  /** After a failure, how long requests fail fast with the recorded reason before the next attempt. */
  retryIntervalMs?: number;
}

/** One logged-in generation of the connection; everything in it dies together when the token fails. */
export interface Live {
  readonly p: PKCS11;
  readonly lib: Pkcs11js;
  readonly slot: Handle;
  /** Object handles found in this generation, by key URI. */
  readonly handles: Map<string, Handle>;
}

interface LiveState extends Live {
  idle: Handle[];
  open: number;
  waiters: { resolve: (s: Handle) => void; reject: (e: unknown) => void }[];
  moduleGeneration: number;
}

/*
 * A PKCS#11 library may be loaded and initialized once per process. Several key stores on the same
 * module (tests start several services in one process) share it; `generation` tells them when one of
 * them re-initialized it, which invalidates every session and handle.
 */
class LoadedModule {
  private static readonly byPath = new Map<string, LoadedModule>();
  generation = 0;
  inFlight = 0;
  private refs = 0;

  private constructor(
    readonly path: string,
    readonly lib: Pkcs11js,
    readonly p: PKCS11,
  ) {}

  static async acquire(path: string): Promise<LoadedModule> {
    let m = LoadedModule.byPath.get(path);
    if (!m) {
      const lib = ((await import('pkcs11js')) as { default: Pkcs11js }).default;
      const p = new lib.PKCS11();
      try {
        p.load(path);
      } catch (e) {
        throw down(`PKCS#11 module ${path} cannot be loaded (${shortError(e)})`);
      }
      try {
        p.C_Initialize({ flags: lib.CKF_OS_LOCKING_OK });
      } catch (e) {
        if (pkcs11Code(e) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
          p.close();
          throw down(`PKCS#11 module ${path} does not initialize (${shortError(e)})`);
        }
      }
      m = new LoadedModule(path, lib, p);
      LoadedModule.byPath.set(path, m);
    }
    m.refs++;
    return m;
  }

  /**
   * Finalizes and initializes the library again: the only way SoftHSM2 (and some HSM clients) notice
   * a token that came back. Waits for calls in flight, since finalizing under them is unsafe.
   */
  async reinitialize(seenGeneration: number): Promise<void> {
    if (seenGeneration !== this.generation) return;
    this.generation++;
    for (let i = 0; this.inFlight > 0 && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
    try {
      this.p.C_Finalize();
    } catch {
      // Already finalized or the device is gone: initializing again is what matters.
    }
    try {
      this.p.C_Initialize({ flags: this.lib.CKF_OS_LOCKING_OK });
    } catch (e) {
      throw down(`PKCS#11 module ${this.path} does not initialize again (${shortError(e)})`);
    }
  }

  release(): void {
    if (--this.refs > 0) return;
    LoadedModule.byPath.delete(this.path);
    try {
      this.p.C_Finalize();
      this.p.close();
    } catch {
      // Closing a broken module must not stop the service from shutting down.
    }
  }
}

const down = (reason: string) => new CaError('unavailable', 'key_store_unavailable', reason);

/** The CKR_* name of a PKCS#11 error, or undefined for anything else. */
export function pkcs11Code(e: unknown): string | undefined {
  const m = e instanceof Error ? /^CKR_[A-Z0-9_]+/.exec(e.message) : null;
  return m?.[0];
}

const shortError = (e: unknown): string => pkcs11Code(e) ?? (e instanceof Error ? e.message.split('\n')[0]!.slice(0, 200) : String(e));

/** Errors that mean the token, the session or the login is gone, not that the request was wrong. */
const CONNECTION_LOST = new Set([
  'CKR_GENERAL_ERROR',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_DEVICE_REMOVED',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_USER_NOT_LOGGED_IN',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_OBJECT_HANDLE_INVALID',
  'CKR_KEY_HANDLE_INVALID',
]);

/**
 * A logged-in connection to one token with a pool of sessions, since one PKCS#11 session cannot run
 * two operations at once. When the token, its module or the PIN fails, the connection records why,
 * answers `key_store_unavailable` with that reason, and tries again (no faster than retryIntervalMs)
 * until it works: no restart is needed when the token is back.
 */
export class TokenConnection {
  private module?: LoadedModule;
  private live?: LiveState;
  private connecting?: Promise<LiveState>;
  private failure?: { reason: string; at: number };
  /** A PIN the token refused is not offered again: real HSMs lock the user after a few tries. */
  private rejectedPin?: string;
  private closed = false;

  constructor(private readonly options: TokenOptions) {}

  get tokenDescription(): string {
    return this.options.tokenLabel !== undefined ? `token "${this.options.tokenLabel}"` : `token with serial ${this.options.tokenSerial}`;
  }

  /** Why the token cannot be used right now, or undefined when it can (as far as we know). */
  get failureReason(): string | undefined {
    return this.live ? undefined : this.failure?.reason;
  }

  /**
   * Runs `fn` on a session of its own. A lost connection is retried once on a fresh one (a token
   * that was reset comes back at once); other PKCS#11 errors are the caller's to interpret.
   */
  async withSession<T>(what: string, fn: (live: Live, session: Handle) => Promise<T> | T): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.connect();
      const session = await this.acquire(live);
      const module = this.module!;
      module.inFlight++;
      let lost = false;
      try {
        return await fn(live, session);
      } catch (e) {
        const code = pkcs11Code(e);
        if (code && CONNECTION_LOST.has(code)) {
          lost = true;
          this.lose(live, `${this.tokenDescription} failed while ${what} (${code})`);
          if (attempt === 0) continue;
          throw down(this.failure!.reason);
        }
        throw e;
      } finally {
        module.inFlight--;
        this.release(live, session, lost);
      }
    }
  }

  private connect(): Promise<LiveState> {
    if (this.closed) return Promise.reject(down('the PKCS#11 key store is closed'));
    if (this.live) {
      if (this.live.moduleGeneration === this.module?.generation) return Promise.resolve(this.live);
      this.lose(this.live, `${this.tokenDescription}: the PKCS#11 module was re-initialized`);
      this.failure!.at = 0;
    }
    if (this.connecting) return this.connecting;
    const retryInterval = this.options.retryIntervalMs ?? 2000;
    if (this.failure && Date.now() - this.failure.at < retryInterval) return Promise.reject(down(this.failure.reason));
    const hadFailed = this.failure !== undefined;
    this.connecting = this.open(hadFailed)
      .then(
        (live) => {
          this.live = live;
          this.failure = undefined;
          return live;
        },
        (e: unknown) => {
          const reason = e instanceof CaError ? e.detail : `${this.tokenDescription} cannot be used (${shortError(e)})`;
          this.failure = { reason, at: Date.now() };
          throw down(reason);
        },
      )
      .finally(() => {
        this.connecting = undefined;
      });
    return this.connecting;
  }

  private async open(afterFailure: boolean): Promise<LiveState> {
    if (!this.module) this.module = await LoadedModule.acquire(this.options.modulePath);
    else if (afterFailure) await this.module.reinitialize(this.module.generation);
    const { p, lib } = this.module;
    const slot = this.findSlot(p);
    const session = p.C_OpenSession(slot, lib.CKF_SERIAL_SESSION | lib.CKF_RW_SESSION);
    try {
      await this.login(p, lib, session);
    } catch (e) {
      p.C_CloseSession(session);
      throw e;
    }
    return { p, lib, slot, handles: new Map(), idle: [session], open: 1, waiters: [], moduleGeneration: this.module.generation };
  }

  private findSlot(p: PKCS11): Handle {
    const { tokenLabel, tokenSerial, modulePath } = this.options;
    const matches = p.C_GetSlotList(true).filter((slot) => {
      const info = p.C_GetTokenInfo(slot);
      return (tokenLabel === undefined || info.label.trim() === tokenLabel) && (tokenSerial === undefined || info.serialNumber.trim() === tokenSerial);
    });
    if (matches.length === 0) throw down(`${this.tokenDescription} is not present in PKCS#11 module ${modulePath}`);
    if (matches.length > 1) throw down(`${matches.length} tokens match ${this.tokenDescription}; name it by serial (PRIVATECA_PKCS11_TOKEN_SERIAL)`);
    return matches[0]!;
  }

  private async login(p: PKCS11, lib: Pkcs11js, session: Handle): Promise<void> {
    let pin: string;
    try {
      pin = await this.options.readPin();
    } catch (e) {
      throw down(`the PIN for ${this.tokenDescription} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
    const pinHash = createHash('sha256').update(pin).digest('base64');
    if (pinHash === this.rejectedPin) {
      throw down(`${this.tokenDescription} rejected the configured PIN (CKR_PIN_INCORRECT); it is not tried again until it changes`);
    }
    try {
      p.C_Login(session, lib.CKU_USER, pin);
    } catch (e) {
      const code = pkcs11Code(e);
      if (code === 'CKR_USER_ALREADY_LOGGED_IN') return;
      if (code === 'CKR_PIN_INCORRECT') {
        this.rejectedPin = pinHash;
        throw down(`${this.tokenDescription} rejected the configured PIN (CKR_PIN_INCORRECT)`);
      }
      if (code === 'CKR_PIN_LOCKED') throw down(`the user PIN of ${this.tokenDescription} is locked (CKR_PIN_LOCKED)`);
      throw down(`logging in to ${this.tokenDescription} failed (${shortError(e)})`);
    }
    this.rejectedPin = undefined;
  }

  private acquire(live: LiveState): Promise<Handle> {
    const s = live.idle.pop();
    if (s) return Promise.resolve(s);
    if (live.open < (this.options.maxSessions ?? 8)) {
      live.open++;
      try {
        return Promise.resolve(live.p.C_OpenSession(live.slot, live.lib.CKF_SERIAL_SESSION | live.lib.CKF_RW_SESSION));
      } catch (e) {
        live.open--;
        return Promise.reject(e);
      }
    }
    return new Promise((resolve, reject) => live.waiters.push({ resolve, reject }));
  }

  private release(live: LiveState, session: Handle, lost: boolean): void {
    if (this.live !== live || lost) {
      live.open--;
      try {
        if (live.moduleGeneration === this.module?.generation) live.p.C_CloseSession(session);
      } catch {
        // Gone with the token.
      }
      return;
    }
    const next = live.waiters.shift();
    if (next) next.resolve(session);
    else live.idle.push(session);
  }

  /** Drops a generation: its sessions are closed, its waiters fail, the next request reconnects. */
  private lose(live: LiveState, reason: string): void {
    if (this.live !== live) return;
    this.live = undefined;
    // The first failure may be retried at once; the retry interval starts if reconnecting fails too.
    this.failure = { reason, at: 0 };
    for (const s of live.idle) {
      try {
        live.p.C_CloseSession(s);
      } catch {
        // The session may already be gone with the token.
      }
    }
    live.idle = [];
    for (const w of live.waiters.splice(0)) w.reject(down(reason));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.live) this.lose(this.live, 'closed');
    await this.connecting?.catch(() => undefined);
    this.module?.release();
    this.module = undefined;
  }
}
