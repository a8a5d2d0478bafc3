// A throwaway PKI for tests, made by the openssl CLI in a directory the test owns: CAs and the
// certificates they sign (P-256 keys, valid two days). Files: <name>.key and <name>.crt.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface CertSpec {
  /** The CA (its file name) that signs it. */
  ca: string;
  /** Subject common name. */
  cn: string;
  /** extendedKeyUsage, e.g. "serverAuth", "clientAuth" or "serverAuth,clientAuth". */
  usage: string;
  /** subjectAltName, e.g. "IP:127.0.0.1,DNS:localhost". */
  san?: string;
}

export class TestPki {
  constructor(readonly dir: string) {}

  /** The path of a file of this PKI ("ca.crt"). */
  path(file: string): string {
    return join(this.dir, file);
  }

  /** A self-signed CA `name` with subject CN `cn`. */
  ca(name: string, cn = name): this {
    this.ssl('req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`);
    return this;
  }

  /** A certificate `name` signed by `spec.ca`. */
  cert(name: string, spec: CertSpec): this {
    const ext = `${spec.san ? `subjectAltName=${spec.san}\n` : ''}extendedKeyUsage=${spec.usage}\n`;
    writeFileSync(this.path(`${name}.ext`), ext);
    this.ssl('req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${spec.cn}`);
    this.ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${spec.ca}.crt`,
      '-CAkey',
      `${spec.ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
    return this;
  }

  private ssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: 'pipe' });
  }
}
