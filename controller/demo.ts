/**
 * Demo data for simulation mode, each added once: people and badges (`demo.seed: true`) to an empty
 * registry, and dashboard accounts when there is no account yet. Every addition is an ordinary
 * journaled administrative act by the actor `system:demo-seed`.
 */
import { generatePassword } from './accounts/passwords.js';
import type { UserStore } from './accounts/users.js';
import type { Config } from './config/index.js';
import type { Registry } from './registry/index.js';

export interface DemoBadge {
  person: string;
  credential: string;
  note: string;
}

export const DEMO_BADGES: DemoBadge[] = [
  { person: '山田 太郎 (Yamada Taro)', credential: '0A1B2C3D4E', note: 'staff, any time' },
  { person: '佐藤 花子 (Sato Hanako)', credential: '0A1B2C3D4F', note: 'staff, office hours only' },
  { person: '鈴木 一郎 (Suzuki Ichiro)', credential: '1122334455', note: 'contractor, badge reported lost' },
  { person: '高橋 健 (Takahashi Ken)', credential: '99AABBCCDD', note: 'staff, lockdown override' },
];

export function seedDemo(registry: Registry, config: Config, at: number): boolean {
  if (registry.listPeople().length > 0) return false;
  const actor = 'system:demo-seed';
  const door = config.doors[0]!.id;
  const office = config.schedules.find((s) => s.id === 'office-hours')?.id ?? 'always';
  const add = (
    displayId: string,
    name: string,
    category: 'staff' | 'contractor',
    credential: string,
    schedule: string,
    extra: { lockdownOverride?: boolean } = {},
  ) => {
    const p = registry.addPerson({ displayId, name, category, ...extra }, actor, at);
    const b = registry.addBadge({ personId: p.id, credential }, actor, at);
    registry.grantDoor(p.id, door, schedule, actor, at);
    return b;
  };
  add('S-1001', '山田 太郎', 'staff', DEMO_BADGES[0]!.credential, 'always');
  add('S-1002', '佐藤 花子', 'staff', DEMO_BADGES[1]!.credential, office);
  const lost = add('C-2001', '鈴木 一郎', 'contractor', DEMO_BADGES[2]!.credential, 'always');
  registry.setBadgeStatus(lost.id, 'lost', actor, at, 'demo: reported lost');
  add('S-1003', '高橋 健', 'staff', DEMO_BADGES[3]!.credential, 'always', { lockdownOverride: true });
  return true;
}

/**
 * Demo dashboard accounts with generated passwords, made only in simulation mode and only when there
 * is no account at all; the passwords are handed to `announce` once and stored nowhere else, and
 * must be changed at the first login. True when they were made.
 */
export async function seedDemoAccounts(
  users: UserStore,
  config: Pick<Config, 'board'>,
  now: () => number,
  announce: (text: string) => void,
): Promise<boolean> {
  // A real board never gets an account whose password was printed on a console.
  if (config.board.kind !== 'sim' || users.count() > 0) return false;
  const lines = [
    '',
    'Demo dashboard accounts (simulation mode; passwords shown only now; each must be changed at the first login):',
  ];
  for (const [username, displayName, role] of [
    ['demo-admin', 'デモ 管理者 (demo admin)', 'admin'],
    ['demo-manager', 'デモ 情報基盤管理者 (demo manager)', 'manager'],
  ] as const) {
    const password = generatePassword([username, displayName]);
    await users.create(
      { username, displayName, role, password, mustChangePassword: true },
      'system:demo-seed',
      now(),
      { demo: true },
    );
    lines.push(`  ${username.padEnd(13)} ${password}   (${role})`);
  }
  announce(`${lines.join('\n')}\n\n`);
  return true;
}
