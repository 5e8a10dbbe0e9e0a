/** Gives the page a turn (input, painting) before the next stage of work. */
export function yieldToPage(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
