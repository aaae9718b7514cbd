/**
 * Server-side HTML with escaping by default: every value put into an `html` template is escaped
 * unless it is itself the result of `html` (or `raw`, for trusted constant markup only).
 */

import { visibleText } from '../controller/domain/index.js';

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Escapes for HTML text and attributes. Control, bidirectional and invisible characters (which a
 * record written before names were checked may hold) are made visible as "[U+202E]" instead of
 * being obeyed: an override in a name must not reorder the entry log on screen.
 */
export function escapeHtml(text: string): string {
  return visibleText(text, { keepLayout: true }).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new SafeHtml(out);
}

/** Constant markup that is known to be safe. Never pass user data. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** `attr` when cond is true (for boolean attributes like `selected`). */
export function when(cond: boolean, markup: SafeHtml | string): SafeHtml {
  return cond ? (markup instanceof SafeHtml ? markup : raw(escapeHtml(markup))) : raw('');
}
