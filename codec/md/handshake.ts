// HandshakeMessage wrapping of the Noise XX messages (docs/protocol-md.md "Noise handshake"): ClientHello
// carries the ephemeral, ServerHello ephemeral + encrypted static + encrypted certificate chain,
// ClientFinish encrypted static + encrypted ClientPayload.
import type { ClientFinishFields, ServerHelloFields } from '../../crypto/md/index.ts';
import { CodecError } from '../errors.ts';
import { decodeHandshakeMessage, encodeHandshakeMessage } from './proto.ts';

export function encodeClientHello(ephemeral: Uint8Array): Uint8Array {
  return encodeHandshakeMessage({ clientHello: { ephemeral } });
}

export function encodeServerHello(hello: ServerHelloFields): Uint8Array {
  return encodeHandshakeMessage({
    serverHello: { ephemeral: hello.ephemeral, static: hello.static, payload: hello.payload },
  });
}

export function encodeClientFinish(finish: ClientFinishFields): Uint8Array {
  return encodeHandshakeMessage({ clientFinish: { static: finish.static, payload: finish.payload } });
}

function missing(what: string): CodecError {
  return new CodecError('BAD_PROTO', `HandshakeMessage without ${what}`);
}

export function decodeClientHello(bytes: Uint8Array): { ephemeral: Uint8Array } {
  const ephemeral = decodeHandshakeMessage(bytes).clientHello?.ephemeral;
  if (!ephemeral) throw missing('clientHello.ephemeral');
  return { ephemeral };
}

export function decodeServerHello(bytes: Uint8Array): ServerHelloFields {
  const hello = decodeHandshakeMessage(bytes).serverHello;
  if (!hello?.ephemeral || !hello.static || !hello.payload) throw missing('a complete serverHello');
  return { ephemeral: hello.ephemeral, static: hello.static, payload: hello.payload };
}

export function decodeClientFinish(bytes: Uint8Array): ClientFinishFields {
  const finish = decodeHandshakeMessage(bytes).clientFinish;
  if (!finish?.static || !finish.payload) throw missing('a complete clientFinish');
  return { static: finish.static, payload: finish.payload };
}
