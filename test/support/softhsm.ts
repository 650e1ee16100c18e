import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** A SoftHSM2 token of its own for one test file: its own token directory and config. */
export interface SoftHsm {
  dir: string;
  conf: string;
  module: string;
  label: string;
  pin: string;
  soPin: string;
  /** A file holding the user PIN, as PRIVATECA_PKCS11_PIN_FILE would name it. */
  pinFile: string;
  /** Environment for the service and for pkcs11-tool (SOFTHSM2_CONF and the PRIVATECA_PKCS11_* variables). */
  env: Record<string, string>;
  /** Runs pkcs11-tool against this token and returns its output. */
  tool(args: string[]): string;
  /** Moves the token's files away (the token "goes away") and returns a function that brings them back. */
  removeToken(): Promise<() => Promise<void>>;
  cleanup(): Promise<void>;
}

/**
 * Initializes a fresh token. SoftHSM2 reads SOFTHSM2_CONF when the module is initialized, so this sets
 * it in process.env for in-process key stores too. A missing softhsm2-util fails the test, never skips it.
 */
export async function createSoftHsm(label = 'privateca-test'): Promise<SoftHsm> {
  if (!existsSync(SOFTHSM2_MODULE)) throw new Error(`SoftHSM2 is not installed (${SOFTHSM2_MODULE} is missing): apt-get install -y softhsm2 opensc`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'privateca-softhsm-'));
  const tokens = path.join(dir, 'tokens');
  const conf = path.join(dir, 'softhsm2.conf');
  await mkdir(tokens);
  await writeFile(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const pin = '246810';
  const soPin = '13579086';
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', pin], { env, stdio: 'pipe' });
  const pinFile = path.join(dir, 'pin');
  await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
  process.env.SOFTHSM2_CONF = conf;
  return {
    dir,
    conf,
    module: SOFTHSM2_MODULE,
    label,
    pin,
    soPin,
    pinFile,
    env: {
      SOFTHSM2_CONF: conf,
      PRIVATECA_PKCS11_MODULE: SOFTHSM2_MODULE,
      PRIVATECA_PKCS11_TOKEN_LABEL: label,
      PRIVATECA_PKCS11_PIN_FILE: pinFile,
    },
    tool(args) {
      return execFileSync('pkcs11-tool', ['--module', SOFTHSM2_MODULE, '--token-label', label, ...args], { env, encoding: 'utf8', stdio: 'pipe' });
    },
    async removeToken() {
      const [tokenDir] = await readdir(tokens);
      const away = path.join(dir, 'away');
      await rename(path.join(tokens, tokenDir!), away);
      return () => rename(away, path.join(tokens, tokenDir!));
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
