// Transitions of the MD companion machine that the model-based suite cannot make happen, each with the
// reason. The coverage report lists them apart; the suite fails on any other transition it misses, and on
// an "unreachable" one that it did take (then this list is wrong).
export const MD_UNREACHABLE: Record<string, string> = {};
