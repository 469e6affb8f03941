// Text from the server or the store as a terminal should show it: what users wrote (a name card,
// a reason, a receiver's error) may hold control characters — escape sequences that retitle the
// window, clear the screen or fake a table row — or bidirectional overrides that reorder what is
// read. Each is written as \uXXXX instead, so none reaches the terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function shown(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
