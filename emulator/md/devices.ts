// Linking and unlinking companions on an account (docs/protocol-md.md §6.6, §14).
import { deviceJid, type MdContext, type Registration } from './context.ts';
import { forgetDevice } from './signal-party.ts';
import { streamError } from './stanzas.ts';
import type { MdAccount, MdDevice } from './state.ts';

/** Stores a companion whose pair-device-sign verified: its keys come from its registration (§6.6). */
export function storeDevice(
  ctx: MdContext,
  account: MdAccount,
  input: { deviceId: number; keyIndex: number; registration: Registration; display?: string },
): MdDevice {
  const { registration } = input;
  const device: MdDevice = {
    id: input.deviceId,
    keyIndex: input.keyIndex,
    noiseStatic: registration.noiseStatic,
    identity: registration.identity,
    registrationId: registration.registrationId,
    signedPreKey: registration.signedPreKey,
    preKeys: [],
    platform: { ...registration.platform, ...(input.display ? { display: input.display } : {}) },
    linkedAt: ctx.now(),
    bootstrapped: false,
    queue: [],
  };
  account.devices.set(device.id, device);
  ctx.stats.pairings += 1;
  ctx.state.changed();
  return device;
}

/**
 * Forgets a device and every session with it. `remote` (the phone unlinked it) tells its socket
 * `<stream:error code=401><conflict type=device_removed>` (§10); a logout closes quietly after its answer.
 */
export function unlinkDevice(
  ctx: MdContext,
  account: MdAccount,
  deviceId: number,
  how: 'remote' | 'logout',
): boolean {
  const device = account.devices.get(deviceId);
  if (!device) return false;
  account.devices.delete(deviceId);
  const address = { name: account.number, deviceId };
  forgetDevice(account, address);
  for (const contact of ctx.state.contacts.values()) forgetDevice(contact, address);
  ctx.state.changed();
  const jid = deviceJid(account, deviceId);
  const connection = ctx.online.get(jid);
  if (connection) {
    ctx.online.delete(jid);
    ctx.sessions.set(connection, { kind: 'refused' });
    if (how === 'remote') connection.endStream(streamError('device_removed'), 'device removed by the phone');
    else connection.later(1000, () => connection.close('logged out'));
  }
  ctx.log.info({ device: jid, how }, 'md: device unlinked');
  return true;
}
