import { promises as fsp } from 'fs';
import * as path from 'path';

interface Req { params: Record<string, string>; }

export async function readReport(req: Req): Promise<string> {
  // ruleid: js-path-traversal
  return fsp.readFile(path.join('/srv/reports', req.params.name), 'utf8');
}

export async function readIndex(): Promise<string> {
  // ok: js-path-traversal
  return fsp.readFile(path.join('/srv/reports', 'index.txt'), 'utf8');
}
