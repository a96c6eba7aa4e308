// A reference decoder written the way 2021 TypeScript legacy clients wrote theirs: a Buffer sliced for
// every read, packed strings built character by character with string concatenation, a bounds check
// per byte, tokens fetched through a helper. It exists only so the benchmark can quote our
// decoder's speed as a ratio against this style, measured in the same run. Walink's own code, not a copy.
import { TOKENS_V11 } from '../../codec/index.ts';

type LegacyNode = [string, Record<string, string> | null, LegacyNode[] | string | Buffer | null];

export class LegacyDecoder {
  private buffer: Buffer = Buffer.alloc(0);
  private index = 0;

  decode(data: Buffer): LegacyNode {
    this.buffer = data;
    this.index = 0;
    return this.readNode();
  }

  private checkEOS(length: number) {
    if (this.index + length > this.buffer.length) throw new Error('end of stream');
  }

  private readByte(): number {
    this.checkEOS(1);
    const value = this.buffer.slice(this.index, this.index + 1)[0]!;
    this.index++;
    return value;
  }

  private readIntN(n: number): number {
    this.checkEOS(n);
    let value = 0;
    for (let i = 0; i < n; i++) value = (value << 8) | this.readByte();
    return value;
  }

  private readBytes(n: number): Buffer {
    this.checkEOS(n);
    const value = this.buffer.slice(this.index, this.index + n);
    this.index += n;
    return value;
  }

  private getToken(index: number): string {
    if (index < 3 || index >= TOKENS_V11.length) throw new Error(`invalid token ${index}`);
    return TOKENS_V11[index] as string;
  }

  private unpackNibble(value: number): string {
    if (value >= 0 && value <= 9) return '' + value;
    if (value === 10) return '-';
    if (value === 11) return '.';
    if (value === 15) return '\0';
    throw new Error('invalid nibble');
  }

  private unpackHex(value: number): string {
    if (value < 10) return '' + value;
    return String.fromCharCode('A'.charCodeAt(0) + value - 10);
  }

  private readPacked8(tag: number): string {
    const startByte = this.readByte();
    let value = '';
    for (let i = 0; i < (startByte & 127); i++) {
      const current = this.readByte();
      value += tag === 255 ? this.unpackNibble((current & 0xf0) >> 4) : this.unpackHex((current & 0xf0) >> 4);
      value += tag === 255 ? this.unpackNibble(current & 0x0f) : this.unpackHex(current & 0x0f);
    }
    if (startByte >> 7 !== 0) value = value.slice(0, -1);
    return value;
  }

  private readListSize(tag: number): number {
    if (tag === 0) return 0;
    if (tag === 248) return this.readByte();
    if (tag === 249) return this.readIntN(2);
    throw new Error(`invalid list tag ${tag}`);
  }

  private readStringFromChars(length: number): string {
    return this.readBytes(length).toString('utf-8');
  }

  private readString(tag: number): string | null {
    if (tag >= 3 && tag <= 235) {
      const token = this.getToken(tag);
      return token === 's.whatsapp.net' ? 'c.us' : token;
    }
    switch (tag) {
      case 0:
        return null;
      case 252:
        return this.readStringFromChars(this.readByte());
      case 253:
        return this.readStringFromChars(this.readIntN(3) & 0xfffff);
      case 254:
        return this.readStringFromChars(this.readIntN(4));
      case 250: {
        const user = this.readString(this.readByte());
        const server = this.readString(this.readByte());
        return user ? user + '@' + server : (server as string);
      }
      case 251:
      case 255:
        return this.readPacked8(tag);
      default:
        throw new Error(`invalid string tag ${tag}`);
    }
  }

  private readAttributes(n: number): Record<string, string> | null {
    if (n === 0) return null;
    const attributes: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const key = this.readString(this.readByte()) as string;
      attributes[key] = this.readString(this.readByte()) as string;
    }
    return attributes;
  }

  private readList(tag: number): LegacyNode[] {
    const list: LegacyNode[] = [];
    const size = this.readListSize(tag);
    for (let i = 0; i < size; i++) list.push(this.readNode());
    return list;
  }

  private readNode(): LegacyNode {
    const listSize = this.readListSize(this.readByte());
    const descrTag = this.readByte();
    if (descrTag === 2) throw new Error('unexpected stream end');
    const descr = this.readString(descrTag) as string;
    if (listSize === 0 || !descr) throw new Error('invalid node');
    const attrs = this.readAttributes((listSize - 1) >> 1);
    if (listSize % 2 === 1) return [descr, attrs, null];
    const tag = this.readByte();
    if (tag === 0 || tag === 248 || tag === 249) return [descr, attrs, this.readList(tag)];
    if (tag === 252) return [descr, attrs, this.readBytes(this.readByte())];
    if (tag === 253) return [descr, attrs, this.readBytes(this.readIntN(3) & 0xfffff)];
    if (tag === 254) return [descr, attrs, this.readBytes(this.readIntN(4))];
    return [descr, attrs, this.readString(tag)];
  }
}
