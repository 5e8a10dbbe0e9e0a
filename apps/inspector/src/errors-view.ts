/** Errors as the page shows them: the stable code first, then the message (files' text is never markup). */
import { html } from './svg.js';

/** The `code` of an `@x` error (CheckpointError, DeviceError, MigrateError), else `ERROR`. */
export function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** An error box: `<code>CODE</code> message`. */
export function errorBox(e: unknown, context: string): HTMLElement {
  return html(
    'div',
    { class: 'error', role: 'alert', 'data-code': errorCode(e) },
    html('strong', {}, context),
    ' ',
    html('code', { class: 'code' }, errorCode(e)),
    html('p', { class: 'message' }, errorMessage(e)),
  );
}
