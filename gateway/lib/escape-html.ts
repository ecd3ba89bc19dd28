/** Text as HTML text or a quoted attribute value: the five characters that could end either become references. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
