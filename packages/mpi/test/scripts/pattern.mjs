/** Bytes that differ per rank and per position (NaN payloads among them), so a copy is checked bit for bit. */
export function pattern(rank, byteLength) {
  return Uint8Array.from({ length: byteLength }, (_, i) => (rank * 131 + i * 29 + 7) & 255);
}

export function hex(view) {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('hex');
}
