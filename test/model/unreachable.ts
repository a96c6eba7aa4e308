// Transitions of the session machine that the model-based suite cannot make happen against the
// emulator, each with the reason. The coverage report lists them apart; the suite fails on any other
// transition it misses, and on an "unreachable" one that it did take (then this list is wrong).
export const UNREACHABLE: Record<string, string> = {
  'online.challenged CONN#0':
    'the emulator answers the challenge (200) before it pushes the rotated Conn (docs/protocol.md §2.5), so the Conn always arrives in ready, where online.ready.stream.receiving CONN#0 takes it',
  'online.ready.keepAlive.pinging CONN#0':
    'Conn is pushed only right after a login or a challenge, never during an unanswered ping of an established session',
  'online.ready.keepAlive.idle NODE#0':
    'docs/protocol.md names no server node beyond action/response, and the emulator sends none that decodes as an unknown NODE',
  'online.ready.keepAlive.pinging NODE#0':
    'docs/protocol.md names no server node beyond action/response, and the emulator sends none that decodes as an unknown NODE',
  'online.ready.keepAlive.pinging CONTACTS#0':
    'contacts answer the query sent when ready is entered, before any silence can start a ping',
  'online.ready.keepAlive.pinging CHATS#0':
    'the chat list answers the query sent when ready is entered, before any silence can start a ping',
  'online.ready.keepAlive.pinging MESSAGE_ACK#0':
    'the emulator acks a relayed message with `<id>,` (ACTIVITY, which ends pinging) before `<id>,{"status":200}`',
  'online.ready.phone.checking STREAM#0':
    'phone.checking lasts one round trip: the emulator answers `admin test` at once, before a Stream push can be arranged to land in between',
};
