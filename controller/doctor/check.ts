/**
 * What every family of doctor's checks shares: the verdict, how a check is added, and the small
 * helpers for reading sysfs and naming the user doctor runs as.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';

export type Verdict = 'OK' | 'WARN' | 'FAIL';
export interface Check {
  verdict: Verdict;
  what: string;
  detail: string;
}

export type Add = (verdict: Verdict, what: string, detail: string) => void;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function readSysfs(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}
