// Why this file exists: the demo's lifecycle lines, streamed answer and tool lines share one
// terminal; this keeps them readable (a line is appended to while it is still "its" line, and
// anything else starts on a fresh line).

/** A terminal writer that knows who owns the current line. */
export class Terminal {
  #owner: string | undefined;
  #midLine = false;
  readonly #write: (text: string) => void;

  constructor(write: (text: string) => void = (text) => void process.stdout.write(text)) {
    this.#write = write;
  }

  /** Appends to the current line when `owner` owns it, else starts a new line owned by `owner`. */
  append(owner: string, startText: string, continuation: string): void {
    if (this.#owner === owner && this.#midLine) this.#write(continuation);
    else {
      if (this.#midLine) this.#write('\n');
      this.#write(startText);
    }
    this.#owner = owner;
    this.#midLine = true;
  }

  /** A complete line of its own. */
  line(text = ''): void {
    if (this.#midLine) this.#write('\n');
    this.#write(`${text}\n`);
    this.#owner = undefined;
    this.#midLine = false;
  }

  /** Ends whatever line is open. */
  endLine(): void {
    if (this.#midLine) this.#write('\n');
    this.#owner = undefined;
    this.#midLine = false;
  }
}
