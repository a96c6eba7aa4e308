// The MD side of the emulator's HTTP API, everything under /md/ (docs/emulator.md): the root key, the
// phone's actions, faults and counters. Errors are HttpErrors: the server answers them as {"error"}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toHex } from '../../crypto/index.ts';
import { HttpError, readJson, requireObject, sendJson } from '../../http/index.ts';
import type { MdContext } from './context.ts';
import { MdFaultError, type MdFaultRule, parseMdFaultRule } from './faults.ts';
import { expireAllRefs, linkCode, scanQr } from './pairing.ts';
import {
  addContact,
  describePhone,
  listContacts,
  requirePhoneNumber,
  sendMessage,
  unlinkFromPhone,
} from './phone.ts';
import { streamError } from './stanzas.ts';

const PHONE_ROUTE = /^\/md\/phones\/(\d{1,20})(?:\/(scan|link-code|messages)|\/devices\/(\d{1,6}))?$/;
const SMALL_BODY = 64 * 1024;

export async function mdRoute(
  ctx: MdContext,
  method: string,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
  maxBodyBytes: number,
): Promise<boolean> {
  const path = url.pathname;
  if (path === '/md/root-key') {
    if (method !== 'GET') throw new HttpError(405, 'use GET');
    sendJson(res, 200, { publicKey: toHex(ctx.state.keys.root.publicKey) });
    return true;
  }
  if (path === '/md/stats') {
    if (method !== 'GET') throw new HttpError(405, 'use GET');
    sendJson(res, 200, { sockets: ctx.connections.size, online: ctx.online.size, ...ctx.stats });
    return true;
  }
  if (path === '/md/faults') {
    await faultsRoute(ctx, method, req, res);
    return true;
  }
  if (path === '/md/contacts') {
    if (method === 'GET') sendJson(res, 200, { contacts: listContacts(ctx) });
    else if (method === 'POST') {
      sendJson(res, 200, addContact(ctx, requireObject(await readJson(req, SMALL_BODY))));
    } else throw new HttpError(405, 'use GET or POST');
    return true;
  }
  const phone = PHONE_ROUTE.exec(path);
  if (!phone) return false;
  const number = requirePhoneNumber(phone[1]!);
  const action = phone[2];
  if (phone[3] !== undefined) {
    if (method !== 'DELETE') throw new HttpError(405, 'use DELETE');
    sendJson(res, 200, unlinkFromPhone(ctx, number, Number(phone[3])));
    return true;
  }
  if (action === undefined) {
    if (method !== 'GET') throw new HttpError(405, 'use GET');
    sendJson(res, 200, describePhone(ctx, number));
    return true;
  }
  if (action === 'messages' && method === 'GET') {
    sendJson(res, 200, { sent: ctx.sent.get(number) ?? [] });
    return true;
  }
  if (method !== 'POST') throw new HttpError(405, action === 'messages' ? 'use GET or POST' : 'use POST');
  const body = requireObject(await readJson(req, action === 'messages' ? maxBodyBytes : SMALL_BODY));
  if (action === 'scan') sendJson(res, 200, await scanQr(ctx, number, body.qr));
  else if (action === 'link-code') sendJson(res, 200, await linkCode(ctx, number, body.code));
  else sendJson(res, 200, await sendMessage(ctx, number, body));
  return true;
}

async function faultsRoute(
  ctx: MdContext,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (method === 'GET') return sendJson(res, 200, { rules: ctx.faults.list() });
  if (method === 'DELETE') {
    ctx.faults.clear();
    return sendJson(res, 200, { rules: [] });
  }
  if (method !== 'POST') throw new HttpError(405, 'use GET, POST or DELETE');
  const body = requireObject(await readJson(req, SMALL_BODY));
  const input = Array.isArray(body.rules) ? body.rules : [body];
  let rules: MdFaultRule[];
  try {
    rules = input.map(parseMdFaultRule);
  } catch (error) {
    if (error instanceof MdFaultError) throw new HttpError(400, error.message);
    throw error;
  }
  for (const rule of rules) {
    // Applied when posted: a network drop, and refs that run out early.
    if (rule.kind === 'closeSocket' && rule.at === 'now') {
      for (const connection of [...ctx.connections]) connection.close('fault: closeSocket now', 1001);
    } else if (rule.kind === 'streamError') {
      for (const connection of [...ctx.connections]) {
        if (connection.isTransport)
          connection.endStream(streamError(rule.code), `fault: stream error ${rule.code}`);
      }
    } else if (rule.kind === 'expireRefs') {
      expireAllRefs(ctx);
    } else {
      ctx.faults.add(rule);
    }
  }
  sendJson(res, 200, { rules: ctx.faults.list() });
}
