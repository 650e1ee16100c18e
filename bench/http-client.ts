import net from 'node:net';

/*
 * A minimal HTTP/1.1 keep-alive client for the benchmark: one socket, one request at a time. Node's
 * http.request costs the client about as much CPU per request as the service spends issuing, and on
 * a 2-core machine shared with the service and PostgreSQL that would be measured as the service's
 * slowness. This reads only what the benchmark needs: the status and a Content-Length body.
 */
export class BenchConnection {
  private socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private waiting?: { resolve(r: { status: number; body: string }): void; reject(e: Error): void };

  constructor(host: string, port: number) {
    this.socket = net.connect(port, host);
    this.socket.setNoDelay(true);
    this.socket.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.tryParse();
    });
    this.socket.on('error', (e) => this.waiting?.reject(e));
    this.socket.on('close', () => this.waiting?.reject(new Error('connection closed')));
  }

  private tryParse(): void {
    const end = this.buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!m) {
      this.waiting.reject(new Error('response without Content-Length'));
      return;
    }
    const total = end + 4 + Number(m[1]);
    if (this.buf.length < total) return;
    const body = this.buf.subarray(end + 4, total).toString('utf8');
    this.buf = this.buf.subarray(total);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve({ status, body });
  }

  request(method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      const payload = body === undefined ? undefined : Buffer.from(body);
      let head = `${method} ${path} HTTP/1.1\r\nhost: bench\r\n`;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      if (payload) head += `content-type: application/json\r\ncontent-length: ${payload.length}\r\n`;
      this.socket.write(payload ? Buffer.concat([Buffer.from(head + '\r\n'), payload]) : head + '\r\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
