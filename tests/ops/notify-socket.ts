/**
 * A stand-in for systemd's notify socket: a real unix datagram socket (python3, as Node has no unix
 * datagram sockets), recording each message with the sender's PID (SCM_CREDENTIALS). Like systemd
 * it closes the file descriptors that come with a message, which completes systemd-notify's
 * BARRIER=1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const RECEIVER = `
import array, json, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"ready": True}), flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4) + socket.CMSG_SPACE(12))
    pid = None
    fds = 0
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array("i")
            a.frombytes(data[: len(data) - len(data) % a.itemsize])
            for fd in a:
                os.close(fd)
                fds += 1
        elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", data[:12])[0]
    print(json.dumps({"message": msg.decode(), "pid": pid, "fds": fds}), flush=True)
`;

export interface NotifyMessage {
  message: string;
  /** The sender's PID, as the kernel reports it. */
  pid: number | null;
  /** File descriptors that came with the message (systemd-notify's barrier pipe). */
  fds: number;
  /** Date.now() when it was read. */
  at: number;
}

export interface NotifySocket {
  path: string;
  messages: NotifyMessage[];
  /** Messages without the barriers. */
  payloads(): string[];
  close(): void;
}

export async function notifySocket(path: string): Promise<NotifySocket> {
  const proc: ChildProcess = spawn('python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: NotifyMessage[] = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: proc.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`notify socket did not start: ${stderr}`)), 10_000);
    proc.once('exit', (code) => reject(new Error(`python3 exited ${code}: ${stderr}`)));
    lines.on('line', (line) => {
      const m = JSON.parse(line) as { ready?: boolean } & Omit<NotifyMessage, 'at'>;
      if (m.ready) {
        clearTimeout(timer);
        resolve();
      } else messages.push({ ...m, at: Date.now() });
    });
  });
  return {
    path,
    messages,
    payloads: () => messages.map((m) => m.message).filter((m) => m !== 'BARRIER=1'),
    close: () => {
      proc.kill('SIGKILL');
    },
  };
}
