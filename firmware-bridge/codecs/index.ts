import { createLineCodec } from './line.js';
import { createRdm6300Codec } from './rdm6300.js';
import type { Codec, CodecOptions } from './types.js';
import { createWiegandBridgeCodec } from './wiegand-bridge.js';

export * from './crc16.js';
export * from './line.js';
export * from './rdm6300.js';
export * from './types.js';
export * from './wiegand.js';
export * from './wiegand-bridge.js';

/** `osdp` readers are polled by an `OsdpBus` (firmware-bridge/osdp/cp.ts), not decoded by a codec. */
export type ReaderProtocol = 'rdm6300' | 'line' | 'wiegand-bridge' | 'osdp';

/** The codec for a reader's configured protocol. Throws on an invalid `linePattern`. */
export function createCodec(
  protocol: ReaderProtocol,
  options: CodecOptions & { linePattern?: string } = {},
): Codec {
  switch (protocol) {
    case 'rdm6300':
      return createRdm6300Codec(options);
    case 'line':
      return createLineCodec(options);
    case 'wiegand-bridge':
      return createWiegandBridgeCodec(options);
    case 'osdp':
      throw new Error(
        'an OSDP reader is polled by an OsdpBus (firmware-bridge/osdp), not decoded by a codec',
      );
  }
}
