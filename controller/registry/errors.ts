export type RegistryErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'duplicate_credential'
  | 'duplicate_id_card'
  | 'conflict';

/** A refused registry change; nothing was written. `code` is stable for APIs. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    /** Words for the screen's own sentence (e.g. who already holds an ID): `{name}` in i18n. */
    readonly vars?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}
