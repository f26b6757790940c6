// Pings one worker process on its control channel and reports it dead after `misses` pings in a row
// went unanswered. The worker answers from a thread of its own, so a long batch does not count as a
// miss; a stopped or frozen process does (docs/architecture.md "Failures").
import type { Duplex } from 'node:stream';
import { decodeReply, encodePing } from '../../../protocol/codec.js';
import { readFrames } from '../../../protocol/frame-socket.js';

export interface PingOptions {
  intervalMs: number;
  misses: number;
}

export class WorkerPinger {
  private timer?: NodeJS.Timeout;
  private awaiting = false;
  private missed = 0;
  private readonly frame = Buffer.concat(encodePing());

  constructor(
    private readonly channel: Duplex,
    private readonly o: PingOptions,
    private readonly onDead: (reason: string) => void,
  ) {
    // Nothing but pongs comes here: anything else closes the channel, and the next ticks count misses.
    readFrames(channel, decodeReply, 1024, () => {
      this.awaiting = false;
      this.missed = 0;
    });
    channel.on('error', () => undefined); // the process's exit is what reports a dead worker
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.o.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.awaiting && ++this.missed >= this.o.misses) {
      this.stop();
      this.onDead(`no answer to ${this.missed} pings in a row`);
      return;
    }
    this.awaiting = true;
    if (this.channel.writable) this.channel.write(this.frame);
  }
}
