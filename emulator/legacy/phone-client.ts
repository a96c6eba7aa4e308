// A client for the emulator's phone API, for the commands that let its phone scan a QR code by themselves
// (`walink start`'s auto-scan, the page's "scan" button).
export const DEFAULT_PHONE = '491511112222';

export interface ScanAnswer {
  ok: boolean;
  status: number;
  wid?: string;
  /** The emulator's reason when it refused (404 unknown ref, 410 expired, …). */
  error?: string;
}

/** The phone `phone` scans `qr`. A refusal is an answer; an unreachable emulator throws. */
export async function scanAsPhone(emulatorUrl: string, phone: string, qr: string): Promise<ScanAnswer> {
  const response = await fetch(`${emulatorUrl}/phones/${phone}/scan`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ qr }),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  let body: { wid?: string; error?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { error: text };
  }
  return {
    ok: response.ok,
    status: response.status,
    ...(body.wid ? { wid: body.wid } : {}),
    ...(response.ok ? {} : { error: body.error ?? text }),
  };
}
