// The client's side of one socket, without the socket (docs/protocol.md parts 1-3): a Receiver for
// inbound frames and a Sender for commands, around the TagLedger they share. actors/legacy/socket.ts
// owns the WebSocket and counts the frames.
import type { SessionKeys } from '../../crypto/index.ts';
import type { SocketCommand, SocketEvent } from '../../machines/legacy/index.ts';
import { TagLedger } from './ledger.ts';
import { Receiver } from './receiver.ts';
import { Sender } from './sender.ts';
import type { FieldLimits } from './server-fields.ts';

export class ClientProtocol {
  readonly receiver: Receiver;
  readonly sender: Sender;

  constructor(options: { keys: SessionKeys | null; now?: () => number; limits?: FieldLimits }) {
    const ledger = new TagLedger(options.keys);
    this.receiver = new Receiver(ledger, options.limits);
    this.sender = new Sender(ledger, options.now);
  }

  /** What one inbound frame means (a frame that cannot be read becomes `server.frameDropped`). */
  incoming(data: string | Uint8Array, isBinary: boolean): SocketEvent {
    return this.receiver.receive(data, isBinary);
  }

  /** The frames that carry out `command`, in order; throws when one cannot be built. */
  outgoing(command: SocketCommand): (string | Uint8Array)[] {
    return this.sender.frames(command);
  }
}
