import { expect } from "vitest";
import { isVigilError } from "../core/index.js";
import type { Storage } from "../core/index.js";
import type { MaskConfig } from "./mask.js";

/** Context handed to the parts of the suite. */
export interface ContractContext {
  /** The storage opened (and initialized) for this test. */
  readonly storage: () => Storage;
  /** Opens another (initialized) instance on the same data; closed after the test. */
  readonly reopen: (options?: { readonly mask?: MaskConfig }) => Promise<Storage>;
}

export async function expectVigilError(promise: Promise<unknown>, code: string, messagePart?: string): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isVigilError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    if (messagePart !== undefined) expect((error as Error).message).toContain(messagePart);
    return;
  }
  expect.fail(`expected VigilError ${code}, but the call resolved`);
}

