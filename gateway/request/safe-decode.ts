/** A percent-encoded value decoded, or as it is when it is not valid percent-encoding (a visitor's value must never throw). */
export function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
