/**
 * What `sekisho commission` says to the installer, in Japanese and English (the dashboard's
 * glossary: 扉, 電気錠, 扉センサー, 退室ボタン, タンパー検知, カードリーダー). controller/ may not
 * import dashboards/, so the command keeps its own table.
 */
export type CommissionLang = 'ja' | 'en';

const M = {
  header: [
    '扉「{name}」（{door}）の試験を始めます。基板: {board}。各項目で y（合格）/ n（不合格、理由）/ s 理由（省略）で答えてください。',
    'Commissioning door "{name}" ({door}) on the {board} board. Answer y (passed), n [reason] (failed) or s REASON (skipped).',
  ],
  wait_hint: [
    '（待っている間に「s 理由」で省略、「f 理由」で不合格にできます。制限時間 {s} 秒）',
    '(while waiting, type "s REASON" to skip or "f REASON" to fail; time limit {s} s)',
  ],
  wait_hint_scripted: [
    '（標準入力から回答を 1 行ずつ読みます。入力待ちの制限時間 {s} 秒）',
    '(answers are read from stdin, one a line, when asked; each wait ends after {s} s)',
  ],
  lock_release: [
    '電気錠を解錠します。リレーの音がし、錠が外れましたか？（{s} 秒後に自動で施錠に戻ります）',
    'Releasing the lock. Did the relay click and the lock release? (it is secured again after {s} s)',
  ],
  lock_relock: [
    '電気錠を施錠に戻しました。扉が施錠されていることを取っ手で確かめましたか？',
    'The lock is secured again. Is the door locked (try the handle)?',
  ],
  buzzer: ['ブザーを 1 秒鳴らします。聞こえましたか？', 'Sounding the buzzer for 1 s. Did you hear it?'],
  contact_open: [
    '扉を開けてください（内側から、または鍵で。錠は施錠のままです）。扉センサーの「開」を待っています…',
    'Open the door (from inside or with the key: the lock stays secured). Waiting for the contact to read open…',
  ],
  contact_closed: [
    '扉を閉めてください。扉センサーの「閉」を待っています…',
    'Close the door. Waiting for the contact to read closed…',
  ],
  contact_reset: [
    '扉がすでに開いています。いったん閉めてください…',
    'The door is already open: close it first…',
  ],
  contact_reset_closed: [
    '扉が閉まっています。いったん開けてから閉めてください…',
    'The door is closed: open it, then close it…',
  ],
  exit_button: [
    '退室ボタンを押して、離してください。待っています…（錠は動きません）',
    'Press the exit button and release it. Waiting… (the lock does not move)',
  ],
  exit_button_reset: [
    '退室ボタンが押されたままです。離してください…',
    'The exit button is held: release it first…',
  ],
  tamper: [
    'タンパー検知スイッチを開けて（カバーを外して）、閉めてください。待っています…',
    'Open the tamper switch (take the cover off), then close it again. Waiting…',
  ],
  tamper_reset: [
    'タンパー検知スイッチが開いています。閉めてください…',
    'The tamper switch is open: close it first…',
  ],
  reader_wait_online: [
    'カードリーダー「{reader}」（{path}）の接続を待っています…',
    'Waiting for reader "{reader}" ({path}) to come online…',
  ],
  reader_card: [
    'カードリーダー「{reader}」に試験用カードをかざしてください…',
    'Present a test card at reader "{reader}"…',
  ],
  reader_card_read: ['読み取りました: {masked}（{format}）', 'Read: {masked} ({format})'],
  reader_unplugged: [
    'カードリーダー「{reader}」の線（USB ケーブル）を抜いてください…{note}',
    'Unplug reader "{reader}" (its USB cable)…{note}',
  ],
  reader_unplug_note_uart: [
    '（Pi の UART に直結した {protocol} のリーダーは、抜いても検知できません。「s 理由」で省略してください）',
    ' ({protocol} readers wired to the Pi’s own UART cannot be detected when unplugged: type "s REASON" to skip)',
  ],
  reader_replug: [
    '切断を検知しました（{reason}）。元どおりに差し込んでください…',
    'Unplugged ({reason}). Plug it back in…',
  ],
  passed: ['  → 合格', '  → passed'],
  failed: ['  → 不合格: {reason}', '  → failed: {reason}'],
  skipped: ['  → 省略: {reason}', '  → skipped: {reason}'],
  answer_again: [
    '「y」「n 理由」「s 理由」のいずれかで答えてください（省略には理由が必要です）。',
    'Answer "y", "n [reason]" or "s REASON" (a skip needs a reason).',
  ],
  summary: [
    '扉「{door}」の結果: {outcome}（合格 {p}、不合格 {f}、省略 {s}）。記録 #{seq} に署名して保存しました。',
    'Door "{door}": {outcome} ({p} passed, {f} failed, {s} skipped). Signed record #{seq} written to the journal.',
  ],
  outcome_passed: ['合格', 'passed'],
  outcome_incomplete: ['一部省略', 'incomplete'],
  outcome_failed: ['不合格', 'failed'],
  outcome_interrupted: ['中断', 'interrupted'],
  interrupted: [
    '中断しました（{signal}）。すべての扉を施錠に戻しました。',
    'Interrupted ({signal}). Every door is secured.',
  ],
  secured: ['すべての扉を施錠に戻しました。', 'Every door is secured.'],
} as const satisfies Record<string, readonly [string, string]>;

export type MessageKey = keyof typeof M;
export type Say = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function messages(lang: CommissionLang): Say {
  const i = lang === 'ja' ? 0 : 1;
  return (key, vars) => {
    let s: string = M[key][i];
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  };
}

/** The language of the locale (LC_ALL, LC_MESSAGES, LANG): Japanese for `ja…`, else English. */
export function localeLang(env: Readonly<Record<string, string | undefined>>): CommissionLang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}
