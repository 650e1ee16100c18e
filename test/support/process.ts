import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './net.ts';

/*
 * The service started as a user starts it: compiled as `npm start` compiles it (tsconfig.build.json)
 * and run with node, configured only through the environment (docs/api.md "Bootstrap and configuration").
 */

export const REPO = path.resolve(import.meta.dirname, '../..');

/** ~30 s is plenty on an idle machine; these tests start several services side by side. */
export const READY_WITHIN_MS = 60_000;

/**
 * Compiles the service into its own directory inside the repository (so that node_modules resolve),
 * out of the way of dist/; returns that directory and a function that removes it.
 */
export async function buildService(name: string, options: { console?: boolean } = {}): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = path.join(REPO, '.tmp', `${name}-build-${randomBytes(4).toString('hex')}`);
  execFileSync(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', dir], { cwd: REPO, stdio: 'pipe' });
  await cp(path.join(REPO, 'src/db/migrations'), path.join(dir, 'src/db/migrations'), { recursive: true });
  // The admin console, as `npm run build` makes it: into the build's console/ beside its src/.
  if (options.console) {
    execFileSync(process.execPath, [path.join(REPO, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'api/console/vite.config.ts'], {
      cwd: REPO,
      stdio: 'pipe',
      env: { ...process.env, CONSOLE_OUT_DIR: path.join(dir, 'console') },
    });
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every process spawned, for the afterAll of each file to kill what is left. */
export const started: ServiceProcess[] = [];

export class ServiceProcess {
  output = '';
  readonly exited: Promise<Exit>;
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.stdout!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (this.output += c.toString('utf8')));
    // 'close', not 'exit': it comes after the last of the process's output has been read.
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  }

  /**
   * Spawns the service of `build` with only PATH and HOME from our environment, plus `env`. With
   * `group`, in a process group of its own (as systemd or a terminal runs it), for signals to the group.
   */
  static async spawn(build: string, env: Record<string, string>, options: { group?: boolean } = {}): Promise<ServiceProcess> {
    const port = env.PORT ?? String(await freePort());
    const child = spawn(process.execPath, [path.join(build, 'src/main.js')], {
      cwd: REPO,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: port, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.group ?? false,
    });
    const p = new ServiceProcess(child, `http://127.0.0.1:${port}`);
    started.push(p);
    return p;
  }

  static async start(build: string, env: Record<string, string>, options: { group?: boolean } = {}): Promise<ServiceProcess> {
    const p = await ServiceProcess.spawn(build, env, options);
    await p.ready();
    return p;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until GET /readyz answers 200 (the database answers, every key store can be used). */
  async ready(withinMs = READY_WITHIN_MS): Promise<void> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      if (!this.running) throw new Error(`the service exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready:\n${this.output}`);
      const ok = await fetch(`${this.url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`not ready within ${withinMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Sends `signal` and waits for the exit (SIGKILL after 20 s, which then fails the caller's check). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
    if (this.running) {
      this.child.kill(signal);
      const t = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
      const e = await this.exited;
      clearTimeout(t);
      return e;
    }
    return this.exited;
  }

  /** The structured log lines the process wrote (pino JSON), parsed; other lines left out. */
  logLines(): Record<string, unknown>[] {
    return this.output.split('\n').flatMap((l) => {
      if (!l.startsWith('{')) return [];
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }

  async api(token: string, method: string, p: string, body?: unknown) {
    const res = await fetch(this.url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: any;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, body: parsed, headers: res.headers };
  }
}

/** Runs the service to its exit without waiting for readiness: for configurations it must refuse. */
export async function runToExit(build: string, env: Record<string, string>): Promise<Exit & { output: string }> {
  const p = await ServiceProcess.spawn(build, env);
  const t = setTimeout(() => p.child.kill('SIGKILL'), 60_000);
  const e = await p.exited;
  clearTimeout(t);
  return { ...e, output: p.output };
}

/** Kills what a test file left running and waits for it. */
export async function killStarted(): Promise<void> {
  for (const p of started) if (p.running) p.child.kill('SIGKILL');
  await Promise.all(started.map((p) => p.exited));
}
