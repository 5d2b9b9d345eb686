// Text read a piece at a time, as it arrives: the lines of a file or of a
// response body, and server-sent events.

// lines yields the lines of a stream of bytes (UTF-8), without their "\n"
// or "\r\n". Only the line being read is held, and of a line longer than
// max characters only about its first max. When signal aborts, or the
// loop reading it stops early, the stream is canceled.
export async function* lines(body, { max = Infinity, signal } = {}) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let ended = false;
  const stop = () => (ended ? undefined : reader.cancel().catch(() => {}));
  signal?.addEventListener("abort", stop, { once: true });
  let tail = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if ((ended = done)) break;
      const parts = (tail + value).split("\n");
      tail = parts.pop().slice(0, max);
      for (const line of parts) yield line.endsWith("\r") ? line.slice(0, -1) : line;
    }
    if (tail) yield tail.endsWith("\r") ? tail.slice(0, -1) : tail;
  } finally {
    signal?.removeEventListener("abort", stop);
    await stop();
  }
}

// events yields the server-sent events of a body as { event, data }: the
// event's name ("message" when it has none) and its data lines joined.
// Comments and other fields are skipped.
export async function* events(body) {
  let event = "message";
  let data = [];
  for await (const line of lines(body)) {
    if (line === "") { // the end of an event; one with no data is not one
      const text = data.join("\n");
      if (text) yield { event, data: text };
      event = "message";
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const i = line.indexOf(":");
    const field = i < 0 ? line : line.slice(0, i);
    const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
}
