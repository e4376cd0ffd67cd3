import { exec, execSync } from 'child_process';
import * as child from 'node:child_process';

export function convert(path: string): Buffer {
  // ruleid: js-command-injection
  return execSync('convert ' + path + ' out.png');
}

export function grep(pattern: string, done: (e: Error | null) => void): void {
  // ruleid: js-command-injection
  exec(`grep -r ${pattern} /srv/data`, done);
}

export function tail(file: string): Buffer {
  // ruleid: js-command-injection
  return child.execSync('tail -n 20 ' + file);
}

export function safe(file: string): Buffer {
  // ok: js-command-injection
  return child.execFileSync('tail', ['-n', '20', file]);
}
