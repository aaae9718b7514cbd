/**
 * The smallest valid config as a plain object (one site, one reader, one door), for tests that
 * parse a config with one section changed. `overrides` replaces or adds top-level sections.
 */
export function minimalConfig(overrides: Record<string, unknown> = {}) {
  return {
    site: { id: 'hq', name: 'HQ' },
    controller: { id: 'ctl-1' },
    storage: { path: '/var/lib/sekisho' },
    board: { kind: 'sim' },
    readers: [{ id: 'entry', path: '/dev/ttyAMA0', protocol: 'rdm6300' }],
    doors: [
      {
        id: 'machine-room',
        name: 'マシン室',
        entryReader: 'entry',
        contact: { pin: 17 },
        lock: { pin: 22, failMode: 'fail-secure' },
      },
    ],
    ...overrides,
  };
}
