// One polite live region for status and progress messages ("Report sent", "Uploading 40%"),
// rendered by App.svelte; screens call `announce()`.

export const live = $state<{ message: string }>({ message: '' });

let timer: ReturnType<typeof setTimeout> | undefined;

/** Says `message` to screen readers (and clears it after a while so a repeat is read again). */
export function announce(message: string): void {
  live.message = '';
  clearTimeout(timer);
  // A tick apart, so the same text twice is still a change.
  setTimeout(() => {
    live.message = message;
    timer = setTimeout(() => (live.message = ''), 8000);
  }, 30);
}
