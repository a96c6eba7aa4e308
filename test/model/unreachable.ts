// Transitions of the session machine that the model-based suite cannot make happen against the
// emulator, each with the reason. The coverage report lists them apart; the suite fails on any other
// transition it misses, and on an "unreachable" one that it did take (then this list is wrong).
export const UNREACHABLE: Record<string, string> = {
  'online.challenged server.conn#0':
    'the emulator answers the challenge (200) before it pushes the rotated Conn (docs/protocol.md §2.5), so the Conn always arrives in ready, where online.ready.stream.receiving server.conn#0 takes it',
  'online.ready.phone.checking server.stream#0':
    'phone.checking lasts one round trip: the emulator answers `admin test` at once, before a Stream push can be arranged to land in between',
};
