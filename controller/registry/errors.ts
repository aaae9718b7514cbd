export type RegistryErrorCode = 'invalid_input' | 'not_found' | 'duplicate_credential' | 'conflict';

/** A refused registry change; nothing was written. `code` is stable for APIs. */
export class RegistryError extends Error {
  override name = 'RegistryError';
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
  ) {
    super(message);
  }
}
